"""ecsgen: a team's Python spec in, a Terraform module for distributed PyTorch on ECS out."""

from __future__ import annotations

__version__ = "0.1.0"

from gen.spec import S3, Ec2, Fargate, Job, Network, Team

__all__ = ["S3", "Ec2", "Fargate", "Job", "Network", "Team", "__version__"]
