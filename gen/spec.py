"""The spec: what a team writes in its Python spec file.

Spec objects accept anything at construction and only remember what they were given and where
(file and line). `gen.validate` then checks everything at once, with the team's name and the
field path in hand, so that a typo, a wrong type and an impossible combination are all reported
together instead of as the first traceback. Type checkers still see the typed signatures below
(PEP 681 `dataclass_transform`).
"""

from __future__ import annotations

import inspect
import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import Field, field
from types import CodeType
from typing import ClassVar, dataclass_transform

__all__ = [
    "S3",
    "CapacityBlock",
    "Ec2",
    "Efs",
    "Fargate",
    "FsxLustre",
    "Job",
    "Network",
    "Reservation",
    "SpecNode",
    "Team",
]

# Each class's field names (`SpecNode.allowed`), looked up once per class and process.
_ALLOWED: dict[type, tuple[str, ...]] = {}


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class SpecNode:
    """Base of the spec classes: records the given fields and the caller's file and line."""

    positional: ClassVar[tuple[str, ...]] = ()
    fields: dict[str, object]
    file: str
    line: int
    _call: tuple[CodeType, int]  # the calling code and instruction offset (see `span`)

    def __init__(self, *args: object, **kwargs: object) -> None:
        given = dict(kwargs)
        extra: list[object] = []
        for name, value in zip(self.positional, args, strict=False):
            given.setdefault(name, value)
        extra = list(args[len(self.positional) :])
        if extra:
            given["<positional>"] = extra
        frame = sys._getframe(1)
        for name in self.allowed():  # attribute access sees the given value, else the default
            if name in given:
                object.__setattr__(self, name, given[name])
            else:
                default = getattr(type(self), name, None)
                if isinstance(default, Field):
                    default = default.default_factory()  # type: ignore[operator]
                object.__setattr__(self, name, default)
        object.__setattr__(self, "fields", given)
        object.__setattr__(self, "file", frame.f_code.co_filename)
        object.__setattr__(self, "line", frame.f_lineno)
        object.__setattr__(self, "_call", (frame.f_code, frame.f_lasti))

    @property
    def span(self) -> tuple[int, ...] | None:
        """The call's source span (line, end line, column, end column), to find each field's
        own line; worked out only when a problem is reported."""
        code, instruction = self._call
        if instruction < 0:
            return None
        where = next(itertools.islice(code.co_positions(), instruction // 2, None), None)
        return None if where is None else tuple(x or 0 for x in where)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def allowed(cls) -> tuple[str, ...]:
        """The field names this class accepts, in declaration order."""
        found = _ALLOWED.get(cls)
        if found is None:
            names = [
                n
                for klass in reversed(cls.__mro__)
                for n in inspect.get_annotations(klass)
                if klass is not SpecNode and not n.startswith("_")
            ]
            found = _ALLOWED[cls] = tuple(n for n in names if n not in ("positional", "span"))
        return found


class S3(SpecNode):
    """An S3 prefix: `S3("s3://bucket/prefix/")`."""

    positional = ("uri",)
    uri: str
    per_run: bool = False  # checkpoints only: each run under `<prefix><run id>/`
    kms_key_arn: str | None = None  # the bucket's SSE-KMS key, when not the team's


class Network(SpecNode):
    """Defaults for the module's network variables (the module asks for them otherwise)."""

    vpc_id: str
    subnet_ids: Sequence[str]


class Fargate(SpecNode):
    """CPU-only capacity on AWS Fargate: task `cpu` units and `memory` MiB (the Fargate table)."""

    cpu: int
    memory: int
    ephemeral_gib: int | None = None  # 21-200 GiB of task storage; Fargate gives 20 without it
    cpu_architecture: str = "X86_64"  # or "ARM64" (Graviton); the image must be built for it


class Reservation(SpecNode):
    """A targeted On-Demand Capacity Reservation (`Reservation("cr-...")`) or a resource group of
    them (`Reservation("arn:aws:resource-groups:REGION:ACCOUNT:group/NAME")`). `instance_type`
    and `instances` say what it holds, when you want ecsgen to check the job against it."""

    positional = ("id",)
    id: str
    instance_type: str | None = None
    instances: int | None = None


class CapacityBlock(SpecNode):
    """An EC2 Capacity Block for ML (`CapacityBlock("cr-...")`): instances reserved for a fixed
    window, reclaimed before its end. `instance_type` and `instances` as for `Reservation`."""

    positional = ("id",)
    id: str
    instance_type: str | None = None
    instances: int | None = None


class Ec2(SpecNode):
    """GPU capacity: EC2 instances of one type behind an Auto Scaling group capacity provider."""

    instance_type: str
    efa: bool = False
    spot: bool = False
    cpu: int | None = None
    memory: int | None = None
    shm_mib: int | None = None
    root_volume_gib: int = 200
    subnet_ids: Sequence[str] | None = None
    # A reservation ID ("cr-..."), a resource group ARN, Reservation(...) or CapacityBlock(...).
    reservation: str | Reservation | CapacityBlock | None = None
    # Overrides of the bundled ulimits: {"nofile": 65536} or {"nofile": (SOFT, HARD)}.
    ulimits: Mapping[str, int | tuple[int, int]] = field(default_factory=dict)
    # The AMI of an arm64 GPU type (g5g), which AWS publishes no ECS-optimized AMI for.
    ami_id: str | None = None


class Efs(SpecNode):
    """An EFS file system mounted in the job's containers at `mount` (native ECS volume, TLS in
    transit, mounted with the task role)."""

    file_system_id: str
    mount: str
    path: str = "/"
    read_only: bool = False


class FsxLustre(SpecNode):
    """An FSx for Lustre file system, mounted on the EC2 hosts and bind-mounted at `mount`."""

    file_system_id: str
    mount_name: str
    mount: str
    read_only: bool = False


class Job(SpecNode):
    """One distributed training job: `nodes` tasks, each running torchrun over `command`."""

    name: str
    image: str
    command: Sequence[str]
    compute: Fargate | Ec2
    nodes: int | str = 1
    processes_per_node: int | None = None
    max_restarts: int = 3
    stop_timeout: int | None = None  # 120 s; 90 s on Spot
    keep_running: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    datasets: Sequence[S3] = ()
    checkpoints: S3 | None = None
    max_failures: int = 3  # leader tasks of one run that may fail before it ends as FAILED
    max_runtime: str | None = None  # a duration ("72h", "90m", "2d"): the run ends TIMED_OUT
    volumes: Sequence[Efs | FsxLustre] = ()
    # A Secrets Manager secret ARN with the registry's {"username": ..., "password": ...}.
    registry_credentials: str | None = None


class Team(SpecNode):
    """A team: one Terraform module holding its cluster and its jobs."""

    name: str
    region: str
    jobs: Sequence[Job]
    tags: Mapping[str, str] = field(default_factory=dict)
    network: Network | None = None
    log_retention_days: int = 90
    notify: Sequence[str] = ()
    # Log groups get `skip_destroy`: a job renamed or removed (or the team) leaves its group and
    # logs in AWS (Terraform only forgets it) instead of deleting them.
    keep_logs: bool = False
    # A customer-managed KMS key: log groups, the notification topic, secrets and S3 (SSE-KMS).
    kms_key_arn: str | None = None
