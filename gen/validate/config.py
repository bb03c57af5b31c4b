"""What validation produces: the typed, normalised configuration of a team and its jobs (frozen
dataclasses), which the model builds on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gen import catalog

__all__ = ["Ec2Compute", "FargateCompute", "JobConfig", "S3Location", "TeamConfig"]


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
