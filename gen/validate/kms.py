"""Customer-managed KMS keys: `Team(kms_key_arn=...)` and `S3(..., kms_key_arn=...)`."""

from __future__ import annotations

from ..errors import shown
from ..spec import SpecNode
from ..validate.checker import Checker
from ..validate.limits import KMS_KEY_ARN

__all__ = ["check_kms_key"]


def check_kms_key(
    check: Checker, node: SpecNode, path: str, value: object, region: str | None
) -> str | None:
    """A key's ARN (CloudWatch Logs and IAM policies take no alias); in `region` when given
    (CloudWatch Logs and SNS use keys of their own region only)."""
    key = check.typed(node, path, value, str, "a KMS key ARN")
    if key is None:
        return None
    match = KMS_KEY_ARN.fullmatch(key)
    if not match:
        check.fail(
            node,
            path,
            f"{shown(key)} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID); "
            "CloudWatch Logs and IAM policies need the key's ARN, not an alias or a bare ID",
        )
        return None
    if region is not None and match["region"] != region:
        check.fail(
            node,
            path,
            f"the key is in {match['region']} and the team in {region}: CloudWatch Logs and "
            f"SNS use keys of their own region only; use a key in {region} (a multi-Region "
            "replica there will do)",
        )
        return None
    return key
