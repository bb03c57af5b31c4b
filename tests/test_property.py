"""Property tests: random valid specs, hostile strings included, render and parse back to
exactly what they say; the render is deterministic and every derived AWS name fits."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ecsgen import S3, Ec2, Fargate, Job, Team, catalog
from ecsgen.load import LoadedSpec
from ecsgen.model import build
from ecsgen.names import job_names
from ecsgen.render import render_module
from ecsgen.validate import FARGATE_SIZES, is_credential_name, validate
from ecsgen.validate.limits import RESERVED_ENV, RESERVED_ENV_PREFIXES
from ecsgen.verify import parse, verify_files

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6})?", fullmatch=True)
# Control characters other than tab, newline and carriage return are refused in command words
# and environment values (ecsgen.validate.checker.control_reason); everything else is hostile.
HOSTILE = st.text(
    alphabet=st.sampled_from(list('$%{}"\\\n\r\t\x85 aZ9=#/éß東🚀\u2028'))
    | st.characters(blacklist_categories=["Cs", "Cc"]),
    max_size=30,
)


def _env_name_ok(name: str) -> bool:
    return not (
        name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIXES) or is_credential_name(name)
    )


TAG_TEXT = st.text(
    alphabet=st.characters(whitelist_categories=["L", "N", "Zs"]) | st.sampled_from("_.:/=+-@"),
    max_size=20,
)


def _tag_key_ok(key: str) -> bool:
    return (
        bool(key)
        and not key.lower().startswith(("aws:", "ecsgen:"))
        and key not in ("Name", "AmazonECSManaged")
    )


SECRET_ARNS = st.sampled_from(
    [
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:team/wandb-AbCdEf",
        "arn:aws:ssm:eu-central-1:123456789012:parameter/team/hf",
    ]
)
ENV_NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True).filter(_env_name_ok)
FARGATE = st.sampled_from([(c, m) for c, ms in FARGATE_SIZES.items() for m in ms]).map(
    lambda cm: Fargate(cpu=cm[0], memory=cm[1])
)
EC2 = st.sampled_from(sorted(catalog.CATALOG)).map(
    # arm64 GPU types (g5g) boot the team's own AMI, which they must name
    lambda t: (
        Ec2(instance_type=t, ami_id="ami-0123456789abcdef0")
        if catalog.CATALOG[t].arm64
        else Ec2(instance_type=t)
    )
)
NODES = st.integers(1, 64) | st.tuples(st.integers(1, 8), st.integers(0, 8)).map(
    lambda t: f"{t[0]}:{t[0] + t[1]}"
)


@st.composite
def teams(draw: st.DrawFn) -> Team:
    job_names_ = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    jobs = [
        Job(
            name=name,
            image=f"{draw(NAMES)}.example.com/{draw(NAMES)}:{draw(st.from_regex(r'[a-z0-9][a-z0-9._-]{0,10}', fullmatch=True))}",
            command=["python", "train.py", *draw(st.lists(HOSTILE, max_size=3))],
            nodes=draw(NODES),
            compute=draw(FARGATE | EC2),
            env=(env := draw(st.dictionaries(ENV_NAMES, HOSTILE, max_size=5))),
            secrets=draw(
                st.dictionaries(ENV_NAMES.filter(lambda n: n not in env), SECRET_ARNS, max_size=2)
            ),
            datasets=[S3(f"s3://{draw(NAMES)}-data/{draw(NAMES)}/")],
            checkpoints=S3(f"s3://{draw(NAMES)}-ckpt/"),
        )
        for name in job_names_
    ]
    tags = draw(st.dictionaries(TAG_TEXT.filter(_tag_key_ok), TAG_TEXT, max_size=6))
    return Team(name=draw(NAMES), region="eu-central-1", tags=tags, jobs=jobs)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(team=teams())
def test_random_specs_render_and_parse_back_exactly(team: Team) -> None:
    (config,) = validate([LoadedSpec(Path("spec.py"), team)])
    module = build(config)
    files = render_module(module)
    verify_files(module, files)  # every .tf file parses back to the intended data
    assert files == render_module(build(config)), "rendering is deterministic"

    main = parse(files["main.tf"], "main.tf")
    spec_tags = main["locals"][0]["tags_from_spec"]  # type: ignore[index]
    assert spec_tags == {**team.tags, "ecsgen:team": team.name}
    for job in team.jobs:
        ident = job_names(team.name, job.name).ident
        doc = parse(files[f"job_{ident}.tf"], "job")
        containers = {k: v for b in doc["locals"] for k, v in b.items()}  # type: ignore
        for role in ("leader", "worker"):
            container = containers[f"{ident}_{role}"]
            env = {e["name"]: e["value"] for e in container["environment"]}
            for key, value in job.env.items():
                assert env[key] == value
            secrets = {e["name"]: e["valueFrom"] for e in container["secrets"]}
            assert secrets == dict(job.secrets)
            assert not set(secrets) & set(env)
            assert container["command"] == ["torchrun", *job.command[1:]]
        for derived in job_names(team.name, job.name).all(isinstance(job.compute, Ec2)):
            assert len(derived.value) <= derived.limit
