"""What validation produces: the typed, normalised configuration of a team and its jobs (frozen
dataclasses), which the model builds on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import catalog

__all__ = [
    "Ec2Compute",
    "EfsVolume",
    "FargateCompute",
    "JobConfig",
    "LustreVolume",
    "ReservationConfig",
    "S3Location",
    "TeamConfig",
]


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" (whole bucket) or ending in "/"
    per_run: bool = False  # checkpoints: each run under `<prefix><run id>/`
    kms_key_arn: str | None = None  # the SSE-KMS key the task role may use for it

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class FargateCompute:
    cpu: int
    memory: int
    ephemeral_gib: int | None = None  # task storage; Fargate's 20 GiB when None
    cpu_architecture: str = "X86_64"  # or "ARM64"


@dataclass(frozen=True, slots=True)
class ReservationConfig:
    """Where an EC2 job's instances launch: a targeted On-Demand Capacity Reservation, a
    resource group of them, or a Capacity Block for ML."""

    capacity_block: bool
    reservation_id: str | None  # "cr-..."
    group_arn: str | None  # a resource group of reservations
    instances: int | None  # what it holds, when the spec says

    @property
    def target(self) -> str:
        return self.reservation_id or self.group_arn or ""

    @property
    def single_az(self) -> bool:
        """A reservation (a Capacity Block too) lives in one Availability Zone; a resource
        group may hold reservations of several."""
        return self.reservation_id is not None


@dataclass(frozen=True, slots=True)
class EfsVolume:
    file_system_id: str
    path: str  # the directory of the file system that is mounted
    mount: str  # where, in the container
    read_only: bool


@dataclass(frozen=True, slots=True)
class LustreVolume:
    file_system_id: str
    mount_name: str
    mount: str
    read_only: bool


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
    reservation: ReservationConfig | None = None
    ulimits: tuple[
        tuple[str, int, int], ...
    ] = ()  # overrides of the bundled ones (name, soft, hard)
    ami_id: str | None = None  # the team's own AMI (arm64 GPU types only)

    @property
    def single_az(self) -> bool:
        """The job's instances live in one Availability Zone (EFA's placement group, or a
        reservation's zone): it gets its own one-subnet variable."""
        return self.efa or (self.reservation is not None and self.reservation.single_az)


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
    max_failures: int = 3  # leader tasks of a run that may fail; the next ends it as FAILED
    max_runtime: int | None = None  # seconds; a run still running then ends as TIMED_OUT
    volumes: tuple[EfsVolume | LustreVolume, ...] = ()
    registry_credentials: str | None = None  # Secrets Manager secret ARN for a private registry

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
    keep_logs: bool = False  # log groups outlive their job (`skip_destroy`)
    kms_key_arn: str | None = None  # customer-managed key: logs, topic, secrets, S3 by default
