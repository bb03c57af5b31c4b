"""`S3(...)`: dataset and checkpoint locations."""

from __future__ import annotations

from ..errors import shown
from ..spec import S3, SpecNode
from ..validate.checker import Checker
from ..validate.config import S3Location
from ..validate.kms import check_kms_key
from ..validate.limits import S3_PREFIX, S3_URI

__all__ = ["check_s3"]


def check_s3(check: Checker, node: SpecNode, path: str, value: object) -> S3Location | None:
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
    per_run = check.typed(s3, f"{path}.per_run", given.get("per_run", False), bool, "True or False")
    if per_run is None:
        return None
    key = None
    if given.get("kms_key_arn") is not None:
        # The bucket's region is not in the spec: the key is checked for its form only.
        key = check_kms_key(check, s3, f"{path}.kms_key_arn", given["kms_key_arn"], None)
        if key is None:
            return None
    return S3Location(match["bucket"], prefix, per_run, key)
