"""ecsgen: a team's Python spec in, a Terraform module for distributed PyTorch on ECS out."""

from __future__ import annotations

__version__ = "0.1.0"

from .spec import (
    S3,
    CapacityBlock,
    Ec2,
    Efs,
    Fargate,
    FsxLustre,
    Job,
    Network,
    Reservation,
    Team,
)

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
    "Team",
    "__version__",
]
