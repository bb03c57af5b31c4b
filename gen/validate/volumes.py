"""`Job(volumes=[...])`: shared file systems, `Efs(...)` (Fargate and EC2) and `FsxLustre(...)`
(EC2 only), each mounted at its own path in the container."""

from __future__ import annotations

from ..errors import shown
from ..spec import Efs, FsxLustre, Job, SpecNode
from ..validate.checker import MISSING, Checker
from ..validate.config import EfsVolume, LustreVolume
from ..validate.limits import (
    CONTAINER_PATH,
    FILE_SYSTEM_ID,
    LUSTRE_MOUNT_NAME,
    RESERVED_MOUNTS,
)

__all__ = ["check_volumes"]


def check_volumes(
    check: Checker, job: Job, path: str, value: object, fargate: bool
) -> tuple[EfsVolume | LustreVolume, ...] | None:
    """The job's volumes in spec order; None when one is wrong (reported)."""
    if value is MISSING:
        return None
    items = check.items(job, path, value, object, "Efs(...) or FsxLustre(...)")
    ok = len(items) == (len(value) if isinstance(value, list | tuple) else -1)
    found: list[EfsVolume | LustreVolume] = []
    mounts: dict[str, int] = {}
    for index, item in enumerate(items):
        at = f"{path}[{index}]"
        volume: EfsVolume | LustreVolume | None
        if isinstance(item, Efs):
            volume = _efs(check, item, at)
        elif isinstance(item, FsxLustre):
            if fargate:
                check.fail(
                    item,
                    at,
                    "FSx for Lustre cannot be mounted on Fargate: it needs the Lustre client in "
                    "the host's kernel, which Fargate does not offer; use Efs(...) there, or "
                    "compute=Ec2(...)",
                )
                ok = False
                continue
            volume = _lustre(check, item, at)
        else:
            check.fail(job, at, f"must be Efs(...) or FsxLustre(...), got {shown(item)}")
            ok = False
            continue
        if volume is None:
            ok = False
            continue
        if volume.mount in mounts:
            check.fail(
                item,
                f"{at}.mount",
                f"{shown(volume.mount)} is also the mount of {path}[{mounts[volume.mount]}]; "
                "each volume needs its own mount point",
            )
            ok = False
            continue
        mounts[volume.mount] = index
        found.append(volume)
    return tuple(found) if ok else None


def _path(check: Checker, node: SpecNode, at: str, value: object, what: str) -> str | None:
    text = check.typed(node, at, value, str, what)
    if text is None:
        return None
    parts = text.split("/")
    if (
        not CONTAINER_PATH.fullmatch(text)
        or any(p in (".", "..") for p in parts)
        or any(text == r or text.startswith(r + "/") for r in RESERVED_MOUNTS)
    ):
        check.fail(
            node,
            at,
            f"{shown(text)} is not a path ecsgen mounts: an absolute path of letters, digits "
            f"and . _ -, outside {', '.join(RESERVED_MOUNTS)}",
        )
        return None
    return text


def _file_system(check: Checker, node: SpecNode, at: str, value: object) -> str | None:
    ident = check.typed(node, at, value, str, "a file system ID")
    if ident is not None and not FILE_SYSTEM_ID.fullmatch(ident):
        check.fail(node, at, f"{shown(ident)} is not a file system ID (fs-0123456789abcdef0)")
        return None
    return ident


def _read_only(check: Checker, node: SpecNode, at: str, given: dict[str, object]) -> bool | None:
    return check.typed(
        node, f"{at}.read_only", given.get("read_only", False), bool, "True or False"
    )


def _efs(check: Checker, node: Efs, at: str) -> EfsVolume | None:
    given = check.fields(node, at, ("file_system_id", "mount"))
    ident = _file_system(check, node, f"{at}.file_system_id", given.get("file_system_id"))
    mount = _path(check, node, f"{at}.mount", given.get("mount"), "a path in the container")
    root = given.get("path", "/")
    if root != "/":
        root = _path(check, node, f"{at}.path", root, "a directory of the file system")
    read_only = _read_only(check, node, at, given)
    if ident is None or mount is None or not isinstance(root, str) or read_only is None:
        return None
    return EfsVolume(ident, root, mount, read_only)


def _lustre(check: Checker, node: FsxLustre, at: str) -> LustreVolume | None:
    given = check.fields(node, at, ("file_system_id", "mount_name", "mount"))
    ident = _file_system(check, node, f"{at}.file_system_id", given.get("file_system_id"))
    name = check.typed(node, f"{at}.mount_name", given.get("mount_name"), str, "a string")
    if name is not None and not LUSTRE_MOUNT_NAME.fullmatch(name):
        check.fail(
            node,
            f"{at}.mount_name",
            f"{shown(name)} is not an FSx for Lustre mount name: 1-8 letters, digits, _ or - "
            "(aws fsx describe-file-systems shows it as LustreConfiguration.MountName)",
        )
        name = None
    mount = _path(check, node, f"{at}.mount", given.get("mount"), "a path in the container")
    read_only = _read_only(check, node, at, given)
    if ident is None or name is None or mount is None or read_only is None:
        return None
    return LustreVolume(ident, name, mount, read_only)
