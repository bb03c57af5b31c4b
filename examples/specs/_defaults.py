"""Defaults shared by the example specs: a spec imports them like any Python module."""

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TAGS = {"cost-center": "ml-platform", "owner": "ml-platform@example.com"}
