"""`versions.tf`: the Terraform and provider versions the module is written for."""

from __future__ import annotations

from ..model.decl import Decl

__all__ = ["AWS_PROVIDER_VERSION", "TERRAFORM_VERSION", "versions"]

TERRAFORM_VERSION = ">= 1.5.7"


AWS_PROVIDER_VERSION = ">= 5.100, < 7.0"  # validated here with 5.100; 6.x by schema review


def versions() -> Decl:
    return Decl(
        "terraform",
        args={
            "required_version": TERRAFORM_VERSION,
            "aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION},
        },
        at={"aws": "required_providers.0.aws"},
    )
