"""Validation: spec objects in, typed and normalised configuration out, every problem at once.

Each message names the field path, the value given and what is allowed; `Problem` adds the file,
line and team. Nothing here renders or writes.
"""

from __future__ import annotations

import ast
import difflib
import re
import shlex
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from gen import catalog
from gen.errors import Problem, SpecError, safe_text, shown
from gen.load import LoadedSpec, display_path
from gen.names import job_names, team_names
from gen.spec import S3, Ec2, Fargate, Job, Network, SpecNode, Team

__all__ = [
    "FARGATE_SIZES",
    "LOG_RETENTION_DAYS",
    "Checked",
    "Ec2Compute",
    "FargateCompute",
    "JobConfig",
    "S3Location",
    "TeamConfig",
    "check_each",
    "combine",
    "validate",
]

# Fargate task sizes (cpu units -> valid memory MiB), from the AWS table
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
# CloudWatch Logs PutRetentionPolicy accepts exactly these values.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# ECS registers less memory than the instance's nominal size; ask for at most this share of it.
EC2_MEMORY_SHARE = 0.90
MAX_NODES = 1000  # Cloud Map registers at most 1,000 tasks per ECS service
MAX_STOP_TIMEOUT = 120  # Fargate's maximum
# Spot: the two-minute interruption notice starts draining, so SIGTERM comes less than 120 s
# before the instance goes; leave the stop (a last checkpoint) time to finish before that.
MAX_SPOT_STOP_TIMEOUT = 90
NOTIFY_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SNS_TOPIC_ARN = re.compile(
    r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?"
)
TAG_LIMIT = 50
# ecsgen adds `ecsgen:team` and `ecsgen:job` everywhere, and `Name` and `AmazonECSManaged` on
# Auto Scaling groups and the instances they launch.
MODULE_TAGS = 4
RESERVED_TAG_KEYS = frozenset({"Name", "AmazonECSManaged"})
# IAM and ECS accept letters, digits and white space in any language, and _ . : / = + - @.
TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_RULE = "letters, digits, spaces and _ . : / = + - @ (what IAM and ECS accept)"

NAME = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
NAME_RULE = (
    "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"
)
REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IMAGE = re.compile(
    r"(?P<repository>[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::[0-9]+)?"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))?"
)
SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)"
)
S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
S3_PREFIX = re.compile(r"[A-Za-z0-9!_.'()=+/-]*")
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
RESERVED_ENV = frozenset(
    {
        "MASTER_ADDR",
        "MASTER_PORT",
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "LOCAL_WORLD_SIZE",
        "GROUP_RANK",
        "GROUP_WORLD_SIZE",
        "ROLE_RANK",
        "ROLE_WORLD_SIZE",
        "ROLE_NAME",
    }
)
RESERVED_ENV_PREFIXES = (
    "PET_",
    "TORCHELASTIC_",
    "ECSGEN_",
    "ECS_CONTAINER_METADATA_URI",
    "AWS_CONTAINER_",
)
# Credential-looking environment names belong in `secrets`. A name is one when it contains one
# of CREDENTIAL_PARTS, when one of its words (split at `_` and digits) is in CREDENTIAL_WORDS,
# or when its last word is KEY.
CREDENTIAL_PARTS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
)
CREDENTIAL_WORDS = frozenset({"PASS", "PWD", "PAT", "CREDS", "PSK"})
CREDENTIAL_RULE = (
    "*TOKEN*, *SECRET*, *PASSWORD*, *PASSWD*, *PASSPHRASE*, *CREDENTIAL*, *APIKEY*, *API_KEY*, "
    "*PRIVATE_KEY*, *ACCESS_KEY*, *_KEY, or a word PASS, PWD, PAT, CREDS or PSK"
)
# The known false positives, by exact name: Hugging Face's tokenizer and hub switches, and the
# shell's working-directory variables.
NOT_CREDENTIALS = frozenset(
    {"TOKENIZERS_PARALLELISM", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "PWD", "OLDPWD"}
)
# Bounds on what a spec may hold, so that a runaway spec fails fast with a short message.
MAX_TEXT = 4096  # characters of any string
MAX_NAME = 63  # characters of a team or job name (a DNS label)
MAX_ITEMS = {
    "jobs": 50,
    "env": 200,
    "secrets": 100,
    "datasets": 50,
    "command": 256,
    "tags": 200,  # the tag rule then allows TAG_LIMIT - MODULE_TAGS
    "subnet_ids": 16,
}
MAX_OTHER_ITEMS = 100
MAX_DEPTH = 4  # containers inside containers are not followed deeper (a type error anyway)
INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()  # reported once
# Asked of Fargate, these get a pointed answer instead of "unknown field".
FARGATE_CANNOT = {
    "gpus": "GPUs",
    "gpu": "GPUs",
    "efa": "EFA",
    "devices": "devices",
    "shm_mib": "shared memory (/dev/shm) sizing",
    "shared_memory": "shared memory (/dev/shm) sizing",
    "instance_type": "an instance type",
    "spot": "EC2 Spot (Fargate Spot is not supported yet)",
}


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" (whole bucket) or ending in "/"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class FargateCompute:
    cpu: int
    memory: int


@dataclass(frozen=True, slots=True)
class Ec2Compute:
    instance: catalog.InstanceType
    efa: bool
    spot: bool
    cpu: int
    memory: int
    shm_mib: int
    root_volume_gib: int
    subnet_ids: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class JobConfig:
    name: str
    image_repository: str
    image_version: str  # a tag, or a digest "sha256:..."
    image_is_digest: bool
    command: tuple[str, ...]  # what follows `torchrun` in the container command
    min_nodes: int
    max_nodes: int
    processes_per_node: int
    max_restarts: int
    stop_timeout: int
    keep_running: bool  # True: a long-running service; False: the job ends when the leader exits 0
    env: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...]
    datasets: tuple[S3Location, ...]
    checkpoints: S3Location | None
    compute: FargateCompute | Ec2Compute

    @property
    def elastic(self) -> bool:
        return self.min_nodes != self.max_nodes


@dataclass(frozen=True, slots=True)
class TeamConfig:
    name: str
    region: str
    tags: tuple[tuple[str, str], ...]
    vpc_id: str | None
    subnet_ids: tuple[str, ...] | None
    log_retention_days: int
    jobs: tuple[JobConfig, ...]
    source: str  # the spec file, as shown in messages (relative to the working directory)
    path: Path  # the spec file, resolved
    notify_emails: tuple[str, ...] = ()  # subscribed to the team's notification topic
    notify_topics: tuple[str, ...] = ()  # existing SNS topics that get every notification too


T = TypeVar("T")

# A team name and a job name together fit every derived AWS name (the IAM execution role's
# `<team>-<job>-execution`, 64 characters, is the tightest).
MAX_TEAM_AND_JOB = min(
    d.limit - (len(d.value) - 2)
    for d in job_names("t", "j").all(ec2=True)
    if "t" in d.value and "j" in d.value and not d.value.startswith("/")
)


def is_credential_name(name: str) -> bool:
    """True when an environment variable name looks like it holds a credential."""
    upper = name.upper()
    if upper in NOT_CREDENTIALS:
        return False
    words = [w for w in re.split(r"[_0-9]+", upper) if w]
    return (
        any(part in upper for part in CREDENTIAL_PARTS)
        or any(w in CREDENTIAL_WORDS for w in words)
        or (len(words) > 1 and words[-1] == "KEY")
    )


def _given(given: Mapping[str, object], key: str, default: object) -> object:
    """The field's value; `None` (the documented default of optional fields) means the default."""
    value = given.get(key)
    return default if value is None else value


_CALL_LINES: dict[str, dict[tuple[int, ...], dict[str, int]]] = {}


def _call_lines(file: str) -> dict[tuple[int, ...], dict[str, int]]:
    """For each call in `file`, keyed by its source span: the line of each keyword argument."""
    if file not in _CALL_LINES:
        found: dict[tuple[int, ...], dict[str, int]] = {}
        try:
            tree = ast.parse(Path(file).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for call in ast.walk(tree):
            if isinstance(call, ast.Call):
                lines = {kw.arg: kw.value.lineno for kw in call.keywords if kw.arg}
                if call.args:
                    lines["<positional>"] = call.args[0].lineno
                span = (call.lineno, call.end_lineno or 0, call.col_offset, call.end_col_offset)
                found[tuple(x or 0 for x in span)] = lines
        _CALL_LINES[file] = found
    return _CALL_LINES[file]


def _field_line(node: SpecNode, path: str) -> int | None:
    """The line of the field of `node` that `path` names (its keyword argument), if known."""
    if node.span is None:
        return None
    lines = _call_lines(node.file).get(node.span)
    if not lines:
        return None
    words = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", path).split(".")
    for word in reversed(words):
        if word in lines:
            return lines[word]
    if path.endswith(("compute", "")) and "<positional>" in lines:
        return lines["<positional>"]
    return None


_SCALARS = frozenset({int, bool, float, type(None)})


def _sane(
    check: _Checker, node: SpecNode, path: str, value: object, field: str, depth: int
) -> bool:
    """Bounds that hold for every field: string length, UTF-8-encodable text, collection sizes.
    False (with the problem reported) when the value is too wild to validate further."""
    if type(value) in _SCALARS:  # most values: nothing to bound (and no ABC checks to pay)
        return True
    if isinstance(value, SpecNode):
        if depth > MAX_DEPTH:
            return True
        ok = True
        for key, item in list(value.fields.items()):
            where = f"{path}.{key}" if path else key
            ok = _sane(check, value, where, item, key, depth + 1) and ok
        return ok
    if isinstance(value, str):
        if field == "name" and len(value) > MAX_NAME:
            check.fail(
                node,
                path,
                f"is {len(value)} characters long; names have at most {MAX_NAME} "
                f"(and a team name and a job name together at most {MAX_TEAM_AND_JOB})",
            )
            return False
        if len(value) > MAX_TEXT:
            check.fail(
                node, path, f"is {len(value)} characters long; ecsgen accepts at most {MAX_TEXT}"
            )
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            check.fail(
                node,
                path,
                f"{shown(value)} holds a lone surrogate ({shown(value[exc.start])}), which is "
                "not text: UTF-8 cannot encode it, and neither Terraform nor AWS can take it",
            )
            return False
        return True
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        limit = MAX_ITEMS.get(field, MAX_OTHER_ITEMS)
        try:
            size = len(value)
            if size > limit:
                check.fail(node, path, f"has {size} entries; ecsgen accepts at most {limit}")
                return False
            if depth > MAX_DEPTH:
                return True
            pairs = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
        except Exception as exc:  # noqa: BLE001 - a hostile container must not crash the report
            check.fail(node, path, f"cannot be read ({type(exc).__name__}: {safe_text(exc)})")
            return False
        ok = True
        for entry, item in pairs:
            where = f"{path}[{shown(entry)}]"
            if isinstance(value, Mapping):
                ok = _sane(check, node, where, entry, field, depth + 1) and ok
            ok = _sane(check, node, where, item, field, depth + 1) and ok
        return ok
    return True


class _Checker:
    """Collects problems for one spec file; `team` is filled in once the name is known."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.team: str | None = None
        self.problems: list[Problem] = []

    def fail(self, node: SpecNode | None, path: str, message: str) -> None:
        line = None
        if node is not None and display_path(node.file) == self.file:
            line = _field_line(node, path) or node.line
        self.problems.append(Problem(self.file, line, self.team, path, message))

    def fields(self, node: SpecNode, path: str, required: Sequence[str]) -> dict[str, object]:
        """The node's fields after the unknown-field and missing-field checks."""
        kind = type(node).__name__
        allowed = node.allowed()
        given = dict(node.fields)
        extra = given.pop("<positional>", None)
        if isinstance(extra, list):
            missing = [k for k in required if k not in given]
            if missing:
                spelled = ", ".join(f"{k}={shown(v)}" for k, v in zip(missing, extra, strict=False))
                more = ", ..." if len(missing) > len(extra) else ""
                self.fail(
                    node, path, f"{kind} takes keyword arguments: write {kind}({spelled}{more})"
                )
                for key in missing:
                    given[key] = MISSING  # reported just now
            else:
                self.fail(
                    node,
                    path,
                    f"{kind} takes keyword arguments only "
                    f"(besides {', '.join(node.positional) or 'none'}); got extra {shown(extra)}",
                )
        for key in sorted(k for k in given if k not in allowed):
            value = given.pop(key)
            where = f"{path}.{key}" if path else key
            if isinstance(node, Fargate) and key in FARGATE_CANNOT:
                self.fail(
                    node,
                    where,
                    f"Fargate cannot provide {FARGATE_CANNOT[key]} "
                    f"(got {key}={shown(value)}); use compute=Ec2(instance_type=...) for GPU work",
                )
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {shown(close[0])}? " if close else ""
            self.fail(
                node,
                where,
                f"unknown field {shown(key)} for {kind}; {hint}allowed: {', '.join(allowed)}",
            )
        for key in required:
            if key not in given:
                where = f"{path}.{key}" if path else key
                self.fail(node, where, f"{kind} needs {shown(key)}")
                given[key] = MISSING  # reported: later checks of the field stay silent
        return given

    def typed(
        self,
        node: SpecNode,
        path: str,
        value: object,
        kind: type[T] | tuple[type, ...],
        expected: str,
    ) -> T | None:
        if value is MISSING:
            return None
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
        if not ok:
            hint = ""
            if kind in (int, (int,)) and isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
                hint = f" (a string: write {value.strip()} without quotes)"
            self.fail(node, path, f"must be {expected}, got {shown(value)}{hint}")
            return None
        return value  # type: ignore[return-value]

    def integer(
        self,
        node: SpecNode,
        path: str,
        value: object,
        low: int,
        high: int | None,
    ) -> int | None:
        number = self.typed(node, path, value, int, "a whole number")
        if number is None:
            return None
        if number < low or (high is not None and number > high):
            bound = f">= {low}" if high is None else f"between {low} and {high}"
            self.fail(node, path, f"must be {bound}, got {shown(number)}")
            return None
        return number

    def name(self, node: SpecNode, path: str, value: object) -> str | None:
        text = self.typed(node, path, value, str, "a string")
        if text is not None and len(text) > MAX_NAME:
            self.fail(
                node,
                path,
                f"{shown(text)} is {len(text)} characters long; names have at most {MAX_NAME} "
                f"(and a team name and a job name together at most {MAX_TEAM_AND_JOB})",
            )
            return None
        if text is not None and not NAME.fullmatch(text):
            self.fail(node, path, f"{shown(text)} is not a valid name: use {NAME_RULE}")
            return None
        return text

    def mapping(self, node: SpecNode, path: str, value: object) -> dict[str, object] | None:
        if value is MISSING:
            return None
        got = self.typed(node, path, value, Mapping, "a dict of strings to strings")
        return None if got is None else dict(got)

    def items(
        self,
        node: SpecNode,
        path: str,
        value: object,
        kind: type[T],
        expected: str,
    ) -> list[T]:
        if value is MISSING:
            return []
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            self.fail(node, path, f"must be a list of {expected}, got {shown(value)}")
            return []
        found: list[T] = []
        for index, item in enumerate(value):
            if isinstance(item, kind):
                found.append(item)
            else:
                self.fail(node, f"{path}[{index}]", f"must be {expected}, got {shown(item)}")
        return found


def _s3(check: _Checker, node: SpecNode, path: str, value: object) -> S3Location | None:
    s3 = check.typed(node, path, value, S3, 'S3("s3://bucket/prefix/")')
    if s3 is None:
        return None
    given = check.fields(s3, path, ("uri",))
    uri = check.typed(s3, f"{path}.uri", given.get("uri"), str, "an s3:// URI")
    if uri is None:
        return None
    match = S3_URI.fullmatch(uri)
    prefix = (match["prefix"] or "") if match else ""
    if not match or not S3_PREFIX.fullmatch(prefix) or ".." in prefix or "//" in prefix:
        check.fail(
            s3,
            f"{path}.uri",
            f"{shown(uri)} is not an S3 URI ecsgen accepts: "
            "s3://BUCKET/PREFIX/ with a 3-63 character bucket name and a prefix of "
            "letters, digits and ! _ . ' ( ) = + / -",
        )
        return None
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Location(match["bucket"], prefix)


def _nodes(check: _Checker, job: Job, path: str, value: object) -> tuple[int, int] | None:
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        check.fail(
            job,
            path,
            f'must be a whole number from 1 to {MAX_NODES} or an elastic range "MIN:MAX", '
            f"got {shown(value)} (a string: write nodes={value.strip()} without quotes)",
        )
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"([0-9]{1,7}):([0-9]{1,7})", value)
        if not match or not 1 <= int(match[1]) <= int(match[2]) <= MAX_NODES:
            check.fail(
                job,
                path,
                f'{shown(value)} is not a valid elastic range: use "MIN:MAX" '
                f'with 1 <= MIN <= MAX <= {MAX_NODES}, e.g. "2:8"',
            )
            return None
        return int(match[1]), int(match[2])
    count = check.integer(job, path, value, 1, MAX_NODES)
    return None if count is None else (count, count)


def _env_name(check: _Checker, job: Job, path: str, name: str, *, secret: bool) -> bool:
    if not ENV_NAME.fullmatch(name):
        check.fail(
            job,
            path,
            f"{shown(name)} is not an environment variable name: "
            "use letters, digits and underscores, not starting with a digit",
        )
        return False
    if name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIXES):
        check.fail(
            job,
            path,
            f"{shown(name)} collides with the rendezvous contract ecsgen sets "
            f"(reserved: {', '.join(sorted(RESERVED_ENV))} and the prefixes "
            f"{', '.join(RESERVED_ENV_PREFIXES)}); rename it",
        )
        return False
    if not secret and is_credential_name(name):
        check.fail(
            job,
            path,
            f"{shown(name)} looks like a credential ({CREDENTIAL_RULE}); plain environment is "
            "visible to anyone who can read the task definition: put it in `secrets` as a "
            "Secrets Manager or SSM parameter ARN",
        )
        return False
    return True


def _fargate(check: _Checker, node: Fargate, path: str) -> FargateCompute | None:
    given = check.fields(node, path, ("cpu", "memory"))
    cpu = check.typed(node, f"{path}.cpu", given.get("cpu"), int, "a whole number of CPU units")
    memory = check.typed(node, f"{path}.memory", given.get("memory"), int, "a whole number of MiB")
    if cpu is None or memory is None:
        return None
    if cpu not in FARGATE_SIZES:
        check.fail(
            node,
            f"{path}.cpu",
            f"Fargate has no cpu={shown(cpu)}; "
            f"valid cpu units: {', '.join(map(str, FARGATE_SIZES))}",
        )
        return None
    valid = FARGATE_SIZES[cpu]
    if memory not in valid:
        steps = valid[1] - valid[0]
        allowed = (
            ", ".join(map(str, valid))
            if len(valid) <= 4
            else f"{valid[0]} to {valid[-1]} in steps of {steps}"
        )
        check.fail(
            node,
            f"{path}.memory",
            f"Fargate cpu={cpu} does not allow memory={shown(memory)}; "
            f"valid memory for cpu={cpu}: {allowed} (MiB)",
        )
        return None
    return FargateCompute(cpu, memory)


def _ec2(check: _Checker, node: Ec2, path: str) -> Ec2Compute | None:
    given = check.fields(node, path, ("instance_type",))
    type_name = check.typed(
        node, f"{path}.instance_type", given.get("instance_type"), str, "an EC2 instance type"
    )
    efa = check.typed(node, f"{path}.efa", given.get("efa", False), bool, "True or False")
    spot = check.typed(node, f"{path}.spot", given.get("spot", False), bool, "True or False")
    root = check.integer(
        node, f"{path}.root_volume_gib", given.get("root_volume_gib", 200), 30, 16384
    )
    subnets: tuple[str, ...] | None = None
    if given.get("subnet_ids") is not None:
        subnets = tuple(_subnets(check, node, f"{path}.subnet_ids", given["subnet_ids"]))
    if type_name is None:
        return None
    instance = catalog.CATALOG.get(type_name)
    if instance is None:
        close = difflib.get_close_matches(type_name, catalog.CATALOG, n=1)
        hint = f"did you mean {shown(close[0])}? " if close else ""
        check.fail(
            node,
            f"{path}.instance_type",
            f"{shown(type_name)} is not in the GPU instance "
            f"catalog; {hint}known types: {', '.join(catalog.CATALOG)}",
        )
        return None
    max_cpu = instance.vcpus * 1024
    max_memory = int(instance.memory_gib * 1024 * EC2_MEMORY_SHARE)
    cpu = check.integer(node, f"{path}.cpu", _given(given, "cpu", max_cpu), 128, None)
    if cpu is not None and cpu > max_cpu:
        check.fail(
            node,
            f"{path}.cpu",
            f"{type_name} can give a task at most {max_cpu} CPU "
            f"units ({instance.vcpus} vCPUs), got {shown(cpu)}",
        )
        cpu = None
    memory = check.integer(node, f"{path}.memory", _given(given, "memory", max_memory), 512, None)
    if memory is not None and memory > max_memory:
        check.fail(
            node,
            f"{path}.memory",
            f"{type_name} can give a task at most {max_memory} "
            f"MiB ({int(EC2_MEMORY_SHARE * 100)}% of its {instance.memory_gib} GiB: ECS "
            f"registers less than the nominal memory), got {shown(memory)}",
        )
        memory = None
    if efa and not instance.efa:
        with_efa = [t.name for t in catalog.CATALOG.values() if t.efa]
        check.fail(
            node, f"{path}.efa", f"{type_name} has no EFA; types with EFA: {', '.join(with_efa)}"
        )
    if spot and not instance.spot:
        check.fail(node, f"{path}.spot", f"{type_name} is not offered as Spot")
    if efa and subnets is not None and len(subnets) != 1:
        check.fail(
            node,
            f"{path}.subnet_ids",
            f"EFA needs exactly one subnet (one AZ, one "
            f"cluster placement group); got {len(subnets)}: {shown(list(subnets))}",
        )
    if cpu is None or memory is None or root is None or efa is None or spot is None:
        return None
    shm = check.integer(node, f"{path}.shm_mib", _given(given, "shm_mib", memory // 4), 64, memory)
    if shm is None:
        return None
    return Ec2Compute(instance, efa, spot, cpu, memory, shm, root, subnets)


def _subnets(check: _Checker, node: SpecNode, path: str, value: object) -> list[str]:
    subnets = check.items(node, path, value, str, "a subnet id")
    if not subnets:
        check.fail(node, path, "must list at least one subnet id")
    for index, subnet in enumerate(subnets):
        if not SUBNET_ID.fullmatch(subnet):
            check.fail(
                node, f"{path}[{index}]", f"{shown(subnet)} is not a subnet id (subnet-0abc...)"
            )
    return subnets


def _command(check: _Checker, job: Job, path: str, value: object) -> tuple[str, ...] | None:
    if value is MISSING:
        return None
    if isinstance(value, str):
        try:
            suggested = shlex.split(value)
        except ValueError:
            suggested = value.split()
        check.fail(
            job,
            path,
            f"must be a list of strings, got the string {shown(value)}; ecsgen does not split "
            f"it: write command={shown(suggested or ['python', 'train.py'])}",
        )
        return None
    words = check.items(job, path, value, str, "a string")
    if not isinstance(value, Sequence) or len(words) != len(value):  # not a list: reported
        return None
    if not words or not words[0] or words[0].startswith("-"):
        check.fail(
            job,
            path,
            f"must be a non-empty list of strings starting with the program "
            f'or "python" (torchrun would read a leading option as its own), got {shown(value)}',
        )
        return None
    if words[0] in ("python", "python3"):
        rest = words[1:]
        if not rest or (rest[0].startswith("-") and rest[0] != "-m"):
            check.fail(
                job,
                path,
                f"{shown(words)}: torchrun starts Python itself; give the script "
                '("python", "train.py", ...) or a module ("python", "-m", "pkg")',
            )
            return None
        return tuple(rest)
    return ("--no-python", *words)


def _job(check: _Checker, team: str | None, index: int, job: Job) -> JobConfig | None:
    path = f"jobs[{index}]"
    raw_name = job.fields.get("name")
    name = check.name(job, f"{path}.name", raw_name) if "name" in job.fields else None
    path = f"jobs[{index}]({name})" if name else path
    given = check.fields(job, path, ("name", "image", "command", "compute"))
    compute_node = given.get("compute")
    compute: FargateCompute | Ec2Compute | None = None
    if isinstance(compute_node, Fargate):
        compute = _fargate(check, compute_node, f"{path}.compute")
    elif isinstance(compute_node, Ec2):
        compute = _ec2(check, compute_node, f"{path}.compute")
    elif "compute" in given and compute_node is not MISSING:
        check.fail(
            job,
            f"{path}.compute",
            "must be Fargate(cpu=..., memory=...) or Ec2(instance_type=...), "
            f"got {shown(compute_node)}",
        )
    image = _image(check, job, f"{path}.image", given.get("image")) if "image" in given else None
    command = _command(check, job, f"{path}.command", given.get("command"))
    nodes = _nodes(check, job, f"{path}.nodes", given.get("nodes", 1))
    restarts = check.integer(job, f"{path}.max_restarts", given.get("max_restarts", 3), 0, 1000)
    spot = isinstance(compute, Ec2Compute) and compute.spot
    stop = check.integer(
        job,
        f"{path}.stop_timeout",
        given.get("stop_timeout", MAX_SPOT_STOP_TIMEOUT if spot else MAX_STOP_TIMEOUT),
        2,
        MAX_STOP_TIMEOUT,
    )
    if stop is not None and spot and stop > MAX_SPOT_STOP_TIMEOUT:
        check.fail(
            job,
            f"{path}.stop_timeout",
            f"must be at most {MAX_SPOT_STOP_TIMEOUT} on Spot, got {stop}: the two-minute "
            "interruption notice starts draining, and the stop (a last checkpoint) must finish "
            "before the instance goes",
        )
        stop = None
    keep_running = check.typed(
        job, f"{path}.keep_running", given.get("keep_running", False), bool, "True or False"
    )
    gpus = compute.instance.gpus if isinstance(compute, Ec2Compute) else None
    ppn_given = given.get("processes_per_node")
    ppn = check.integer(
        job,
        f"{path}.processes_per_node",
        ppn_given if ppn_given is not None else (gpus or 1),
        1,
        None,
    )
    if ppn is not None and gpus is not None and ppn > gpus:
        assert isinstance(compute, Ec2Compute)
        check.fail(
            job,
            f"{path}.processes_per_node",
            f"{shown(ppn)} processes per node is more than "
            f"the {gpus} GPUs of {compute.instance.name}; use at most {gpus}",
        )
    env = _env(check, job, f"{path}.env", given.get("env", {}))
    secrets = _secrets(check, job, f"{path}.secrets", given.get("secrets", {}), env)
    datasets = [
        _s3(check, job, f"{path}.datasets[{i}]", item)
        for i, item in enumerate(
            check.items(job, f"{path}.datasets", given.get("datasets", ()), object, "S3(...)")
        )
    ]
    checkpoints = (
        _s3(check, job, f"{path}.checkpoints", given["checkpoints"])
        if given.get("checkpoints") is not None
        else None
    )
    if isinstance(compute, Ec2Compute) and compute.spot and checkpoints is None:
        check.fail(
            job,
            f"{path}.compute.spot",
            "Spot instances are reclaimed at two minutes' "
            "notice: declare checkpoints=S3(...) so the job can resume, or use spot=False",
        )
    if name is not None and team is not None:
        ec2 = isinstance(compute, Ec2Compute)
        team_fault = _team_fault(team, ec2)
        for position, derived in enumerate(job_names(team, name).all(ec2)):
            problem = derived.problem()
            if problem and position not in team_fault:  # the team's own fault is reported once
                check.fail(
                    job,
                    f"{path}.name",
                    f"team {shown(team)} ({len(team)} characters) and job {shown(name)} "
                    f"({len(name)}) make {problem}; a team and a job name together have at "
                    f"most {MAX_TEAM_AND_JOB} characters: shorten the job name",
                )
                break
    parts = (name, image, command, nodes, restarts, stop, keep_running, ppn, env, secrets, compute)
    if (
        any(p is None for p in parts)
        or None in datasets
        or (given.get("checkpoints") is not None and checkpoints is None)
    ):
        return None
    assert name and image and command and nodes and compute is not None and env is not None
    assert restarts is not None and stop is not None and ppn is not None and secrets is not None
    return JobConfig(
        name=name,
        image_repository=image[0],
        image_version=image[1],
        image_is_digest=image[2],
        command=command,
        min_nodes=nodes[0],
        max_nodes=nodes[1],
        processes_per_node=ppn,
        max_restarts=restarts,
        stop_timeout=stop,
        keep_running=bool(keep_running),
        env=tuple(sorted(env.items())),
        secrets=tuple(sorted(secrets.items())),
        datasets=tuple(d for d in datasets if d is not None),
        checkpoints=checkpoints,
        compute=compute,
    )


@lru_cache(maxsize=64)
def _team_fault(team: str, ec2: bool) -> frozenset[int]:
    """Which of a job's derived names are too long or refused whatever the job's name (the
    team's own fault), by position."""
    return frozenset(i for i, d in enumerate(job_names(team, "j").all(ec2)) if d.problem())


def _image(check: _Checker, job: Job, path: str, value: object) -> tuple[str, str, bool] | None:
    image = check.typed(job, path, value, str, "an image reference")
    if image is None:
        return None
    match = IMAGE.fullmatch(image)
    if not match:
        check.fail(
            job,
            path,
            f"{shown(image)} is not an image reference: REGISTRY/REPOSITORY:TAG "
            "or REGISTRY/REPOSITORY@sha256:DIGEST, in lowercase",
        )
        return None
    if not match["tag"] and not match["digest"]:
        check.fail(
            job,
            path,
            f"{shown(image)} has no tag or digest; pin the version the job was "
            f"tested with: {image}:1.0.0 or {image}@sha256:...",
        )
        return None
    if match["digest"]:
        return match["repository"], match["digest"], True
    return match["repository"], match["tag"], False


def _env(check: _Checker, job: Job, path: str, value: object) -> dict[str, str] | None:
    raw = check.mapping(job, path, value)
    if raw is None:
        return None
    env: dict[str, str] = {}
    ok = True
    for key, item in raw.items():
        if not isinstance(key, str) or not isinstance(item, str):
            check.fail(
                job,
                f"{path}[{shown(key)}]",
                f"names and values must be strings, got {shown(key)}: {shown(item)} "
                '(quote numbers: "90")',
            )
            ok = False
        elif _env_name(check, job, f"{path}[{shown(key)}]", key, secret=False):
            env[key] = item
        else:
            ok = False
    return env if ok else None


def _secrets(
    check: _Checker, job: Job, path: str, value: object, env: dict[str, str] | None
) -> dict[str, str] | None:
    raw = check.mapping(job, path, value)
    if raw is None:
        return None
    secrets: dict[str, str] = {}
    ok = True
    for key, arn in raw.items():
        where = f"{path}[{shown(key)}]"
        if not isinstance(key, str) or not isinstance(arn, str):
            check.fail(
                job, where, f"names and ARNs must be strings, got {shown(key)}: {shown(arn)}"
            )
            ok = False
            continue
        if not _env_name(check, job, where, key, secret=True):
            ok = False
            continue
        if not SECRET_ARN.fullmatch(arn):
            check.fail(
                job,
                where,
                f"{shown(arn)} is not a complete Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, with the 6-character "
                "suffix AWS adds) or an SSM parameter ARN "
                "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)",
            )
            ok = False
            continue
        if env and key in env:
            check.fail(job, where, f"{shown(key)} is also in env; a variable comes from one place")
            ok = False
            continue
        secrets[key] = arn
    return secrets if ok else None


def _tag_text(text: str) -> bool:
    if _TAG_ASCII.issuperset(text):  # the usual case, without a Unicode lookup per character
        return True
    return all(c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


# The ASCII characters `_tag_text` accepts: letters and digits (L, N), space (Z), punctuation.
_TAG_ASCII = frozenset(
    c for c in map(chr, range(128)) if c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ"
)


def _tags(check: _Checker, node: Team, value: object) -> tuple[tuple[str, str], ...] | None:
    raw = check.mapping(node, "tags", value)
    if raw is None:
        return None
    tags: list[tuple[str, str]] = []
    for key, item in raw.items():
        where = f"tags[{shown(key)}]"
        if not isinstance(key, str) or not isinstance(item, str):
            check.fail(
                node, where, f"keys and values must be strings, got {shown(key)}: {shown(item)}"
            )
        elif not key or len(key) > 128 or len(item) > 256:
            check.fail(node, where, "AWS allows keys of 1-128 and values of 0-256 characters")
        elif key.lower().startswith("aws:"):
            check.fail(node, where, "the aws: prefix is reserved by AWS")
        elif key in RESERVED_TAG_KEYS or key.startswith("ecsgen:"):
            check.fail(
                node,
                where,
                f"{shown(key)} is set by ecsgen (reserved: "
                f"{', '.join(sorted(RESERVED_TAG_KEYS))} and ecsgen:*)",
            )
        elif not (_tag_text(key) and _tag_text(item)):
            bad = sorted({c for c in key + item if not _tag_text(c)})
            check.fail(node, where, f"{shown(bad)} cannot appear in AWS tags; use {TAG_RULE}")
        else:
            tags.append((key, item))
    if len(raw) > TAG_LIMIT - MODULE_TAGS:
        check.fail(
            node,
            "tags",
            f"{len(raw)} tags: AWS allows {TAG_LIMIT} per resource and "
            f"ecsgen adds {MODULE_TAGS}, so at most {TAG_LIMIT - MODULE_TAGS}",
        )
    return tuple(sorted(tags))


def _network(
    check: _Checker, team: Team, value: object
) -> tuple[str | None, tuple[str, ...] | None]:
    if value is None:
        return None, None
    network = check.typed(team, "network", value, Network, "Network(vpc_id=..., subnet_ids=[...])")
    if network is None:
        return None, None
    given = check.fields(network, "network", ())
    vpc = given.get("vpc_id")
    if vpc is not None and (not isinstance(vpc, str) or not VPC_ID.fullmatch(vpc)):
        check.fail(network, "network.vpc_id", f"{shown(vpc)} is not a VPC id (vpc-0abc...)")
        vpc = None
    subnets = (
        tuple(_subnets(check, network, "network.subnet_ids", given["subnet_ids"]))
        if given.get("subnet_ids") is not None
        else None
    )
    return (vpc if isinstance(vpc, str) else None), subnets


def _team(check: _Checker, team: Team, source: str, path: Path) -> TeamConfig | None:
    given = check.fields(team, "", ("name", "region", "jobs"))
    name = check.name(team, "name", given.get("name")) if "name" in given else None
    check.team = name
    region = (
        check.typed(team, "region", given.get("region"), str, "an AWS region")
        if "region" in given
        else None
    )
    if region is not None and not REGION.fullmatch(region):
        check.fail(team, "region", f"{shown(region)} is not an AWS region name (e.g. us-east-1)")
        region = None
    tags = _tags(check, team, given.get("tags", {}))
    vpc_id, subnet_ids = _network(check, team, given.get("network"))
    retention = check.typed(
        team, "log_retention_days", given.get("log_retention_days", 90), int, "a number of days"
    )
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        check.fail(
            team,
            "log_retention_days",
            f"CloudWatch Logs does not accept {shown(retention)}; "
            f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
        retention = None
    notify = _notify(check, team, given.get("notify", ()), region)
    job_nodes = (
        check.items(team, "jobs", given.get("jobs", ()), Job, "Job(...)") if "jobs" in given else []
    )
    if "jobs" in given and not job_nodes and given["jobs"] is not MISSING:
        check.fail(team, "jobs", "a team needs at least one Job(...)")
    jobs = [_job(check, name, i, j) for i, j in enumerate(job_nodes)]
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        if job is None:
            continue
        if job.name in seen:
            check.fail(
                job_nodes[index],
                f"jobs[{index}].name",
                f"job name {shown(job.name)} is "
                f"already used by jobs[{seen[job.name]}]; job names are unique in a team",
            )
        seen.setdefault(job.name, index)
        compute = job.compute
        if (
            isinstance(compute, Ec2Compute)
            and compute.efa
            and compute.subnet_ids is None
            and subnet_ids is not None
            and len(subnet_ids) != 1
        ):
            check.fail(
                job_nodes[index],
                f"jobs[{index}]({job.name}).compute.subnet_ids",
                f"EFA needs exactly one subnet (one AZ) and network.subnet_ids has "
                f"{len(subnet_ids)}; give the job its own Ec2(subnet_ids=[ONE])",
            )
    if name is not None:
        ec2 = any(isinstance(j.compute, Ec2Compute) for j in jobs if j is not None)
        derived = (*team_names(name).all(ec2), *job_names(name, "j").all(ec2))
        first = next((d for d in derived if d.problem()), None)
        if first is not None and len(first.value) <= first.limit:
            check.fail(
                team,
                "name",
                f"team {shown(name)} begins every {first.kind} (<team>-<job>), which AWS "
                f"refuses to start with {' or '.join(repr(p) for p in first.forbidden_prefixes)}:"
                " rename the team (renaming the job cannot help)",
            )
        elif first is not None:
            check.fail(
                team,
                "name",
                f"team {shown(name)} ({len(name)} characters) makes {first.problem()} whatever "
                f"the job's name; a team and a job name together have at most "
                f"{MAX_TEAM_AND_JOB} characters: shorten the team name",
            )
    if check.problems or name is None or region is None or tags is None or retention is None:
        return None
    return TeamConfig(
        name,
        region,
        tags,
        vpc_id,
        subnet_ids,
        retention,
        tuple(j for j in jobs if j is not None),
        source,
        path,
        notify_emails=tuple(sorted(a for a in notify if not a.startswith("arn:"))),
        notify_topics=tuple(sorted(a for a in notify if a.startswith("arn:"))),
    )


def _notify(check: _Checker, team: Team, value: object, region: str | None) -> tuple[str, ...]:
    """E-mail addresses to subscribe, and existing SNS topics (ARNs) to forward to."""
    found: list[str] = []
    for index, item in enumerate(check.items(team, "notify", value, str, "a string")):
        where = f"notify[{index}]"
        topic = SNS_TOPIC_ARN.fullmatch(item)
        if topic:
            if region is not None and topic["region"] != region:
                check.fail(
                    team,
                    where,
                    f"{item!r} is in {topic['region']}; the jobs publish from {region}, "
                    "and SNS takes messages only from its own region: use a topic in "
                    f"{region}",
                )
                continue
        elif item.startswith("arn:") or not NOTIFY_EMAIL.fullmatch(item):
            check.fail(
                team,
                where,
                f"{item!r} is neither an e-mail address nor an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)",
            )
            continue
        found.append(item)
    if len(set(found)) != len(found):
        check.fail(team, "notify", "lists an address or topic twice")
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Checked:
    """One spec file checked on its own (`check_each`): its team, or the problems found."""

    source: str  # the spec file, as shown in messages
    line: int  # the line of its `Team(...)` call
    team: TeamConfig | None
    problems: tuple[Problem, ...]


def check_each(specs: Sequence[LoadedSpec]) -> list[Checked]:
    """Check every loaded spec on its own (everything but the uniqueness of team names across
    files, which `combine` checks), in order."""
    checked: list[Checked] = []
    for spec in specs:
        source = display_path(spec.path)
        check = _Checker(source)
        raw_name = spec.team.fields.get("name")
        if isinstance(raw_name, str) and len(raw_name) <= MAX_NAME and NAME.fullmatch(raw_name):
            check.team = raw_name
        team = None
        if _sane(check, spec.team, "", spec.team, "", 0):
            check.team = None
            team = _team(check, spec.team, source, spec.path.resolve())
        # else: too wild to check field by field
        checked.append(Checked(source, spec.team.line, team, tuple(check.problems)))
    return checked


def combine(checked: Sequence[Checked]) -> tuple[list[TeamConfig], list[Problem]]:
    """The teams of specs checked by `check_each` (sorted by name), and every problem in file
    order, a team name defined by two files included."""
    problems: list[Problem] = []
    teams: list[TeamConfig] = []
    first_file: dict[str, str] = {}
    for spec in checked:
        problems.extend(spec.problems)
        team = spec.team
        if team is None:
            continue
        if team.name in first_file:
            problems.append(
                Problem(
                    spec.source,
                    spec.line,
                    team.name,
                    "name",
                    f"team name {shown(team.name)} is already defined by "
                    f"{first_file[team.name]}; team names are unique",
                )
            )
            continue
        first_file[team.name] = spec.source
        teams.append(team)
    return sorted(teams, key=lambda t: t.name), problems


def validate(specs: Sequence[LoadedSpec]) -> list[TeamConfig]:
    """Check every loaded spec; raise one `SpecError` listing all problems, or return configs."""
    teams, problems = combine(check_each(specs))
    if problems:
        raise SpecError(problems)
    return teams
