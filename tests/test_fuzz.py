"""Fuzzing every spec field: arbitrary values (huge integers, lone surrogates, objects whose
`__repr__` raises, nested and self-containing containers, floats, bytes, None) in place of one
field of a valid spec, through the real CLI. The render exits 0 or 2, never with a traceback,
and writes nothing when it exits 2; `check` agrees."""

from __future__ import annotations

import base64
import pickle
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecsgen.cli import main
from ecsgen.spec import S3, Ec2, Fargate, Job, Network, Team

TRIES = {"runs": 0, "exit 0": 0, "exit 2": 0}


class Hostile:
    """A value whose repr and str raise, and whose comparisons raise too."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    def __str__(self) -> str:
        raise RuntimeError("str refused")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq refused")

    __hash__ = object.__hash__


def _self_containing() -> list[object]:
    loop: list[object] = []
    loop.append(loop)
    return loop


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=4300, max_value=6000).map(lambda n: 10**n),
    st.integers(min_value=4300, max_value=6000).map(lambda n: -(10**n)),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1),
    st.text(max_size=5).map(lambda t: t + "\udc80"),
    st.sampled_from(["4", "2:8", " 12 ", "us-east-\u0661", "x" * 5000, "a" * 70]),
    st.binary(max_size=10),
    st.builds(Hostile),
    st.builds(_self_containing),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=8,
)


def _base() -> dict[str, Any]:
    return {
        "team": {"name": "fuzz", "region": "us-east-1", "tags": {"a": "b"}},
        "job": {
            "name": "job",
            "image": "r/x:1",
            "command": ["python", "t.py"],
            "nodes": 2,
            "env": {"A": "1"},
            "secrets": {},
            "datasets": [S3("s3://data-bucket/x/")],
        },
    }


def _spec(where: str, field: str, value: object) -> Team:
    """A valid spec with `value` in `where`.`field`."""
    base = _base()
    team_fields: dict[str, Any] = dict(base["team"])
    job_fields: dict[str, Any] = dict(base["job"])
    compute: object = Fargate(cpu=256, memory=512)
    if where == "Team":
        team_fields[field] = value
    elif where == "Job":
        job_fields[field] = value
    elif where == "Fargate":
        compute = Fargate(**{"cpu": 256, "memory": 512, field: value})
    elif where == "Ec2":
        job_fields["checkpoints"] = S3("s3://ckpt-bucket/x/")
        compute = Ec2(**{"instance_type": "g5.2xlarge", field: value})
    elif where == "S3":
        job_fields["checkpoints"] = S3(value) if field == "uri" else S3(**{field: value})
    elif where == "Network":
        team_fields["network"] = Network(
            **{"vpc_id": "vpc-0123456789abcdef0", "subnet_ids": ["subnet-01234567"], field: value}
        )
    job = Job(**{"compute": compute, **job_fields})
    return Team(**{"jobs": [job], **team_fields})


def _run(tmp: Path, where: str, field: str, value: object) -> None:
    try:
        payload = base64.b64encode(pickle.dumps(_spec(where, field, value))).decode()
    except (pickle.PicklingError, RecursionError, TypeError, AttributeError):
        return  # not a value a spec file could hand over; nothing to test
    folder = tmp / f"run{TRIES['runs']}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "fuzz.py").write_text(
        f"import base64, pickle\nteam = pickle.loads(base64.b64decode({payload!r}))\n"
    )
    started = time.perf_counter()
    runner = CliRunner()
    result = runner.invoke(main, ["render", str(folder / "fuzz.py"), "--out", str(folder / "out")])
    TRIES["runs"] += 1
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    TRIES[f"exit {result.exit_code}"] += 1
    if result.exit_code == 2:
        assert not (folder / "out").exists(), "exit 2 must write nothing"
        assert result.stderr.startswith("ecsgen: error")
        assert all(len(line) <= 1100 for line in result.stderr.splitlines()), "capped"
    assert time.perf_counter() - started < 5, "a fuzzed render took more than 5 s"
    started = time.perf_counter()
    check = runner.invoke(main, ["check", str(folder / "fuzz.py"), "--out", str(folder / "out")])
    assert check.exit_code == result.exit_code, check.output
    assert time.perf_counter() - started < 5, "a fuzzed check took more than 5 s"
    shutil.rmtree(folder)


FIELDS = (
    [
        ("Team", f)
        for f in ("name", "region", "jobs", "tags", "network", "log_retention_days", "extra")
    ]
    + [
        ("Job", f)
        for f in (
            "name",
            "image",
            "command",
            "compute",
            "nodes",
            "processes_per_node",
            "max_restarts",
            "stop_timeout",
            "env",
            "secrets",
            "datasets",
            "checkpoints",
        )
    ]
    + [("Fargate", f) for f in ("cpu", "memory", "gpus")]
    + [
        ("Ec2", f)
        for f in (
            "instance_type",
            "efa",
            "spot",
            "cpu",
            "memory",
            "shm_mib",
            "root_volume_gib",
            "subnet_ids",
        )
    ]
    + [("S3", "uri"), ("Network", "vpc_id"), ("Network", "subnet_ids")]
)


@pytest.mark.slow
@settings(
    max_examples=len(FIELDS) * 6,
    deadline=None,  # the 5 s bound is asserted per run above
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(target=st.sampled_from(FIELDS), value=VALUES)
def test_any_value_in_any_field_exits_0_or_2(
    tmp_path: Path, target: tuple[str, str], value: object
) -> None:
    _run(tmp_path, *target, value)


def test_zz_fuzz_figures(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the figures of the fuzz run for the closing note (run with -s)."""
    with capsys.disabled():
        print(f"\nfuzz: {TRIES}")
