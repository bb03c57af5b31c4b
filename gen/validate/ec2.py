"""`Ec2(...)`: a GPU instance type from the catalog and what it can give one task (CPU,
memory, shared memory, EFA, Spot, root volume, subnets)."""

from __future__ import annotations

import difflib

from .. import catalog
from ..errors import shown
from ..spec import Ec2
from ..validate.checker import Checker, given_or_default
from ..validate.config import Ec2Compute
from ..validate.limits import AMI_ID, EC2_MEMORY_SHARE, MAX_ULIMIT, ULIMIT_NAMES
from ..validate.network import check_subnets
from ..validate.reservation import check_reservation

__all__ = ["check_ec2"]


def check_ec2(check: Checker, node: Ec2, path: str) -> Ec2Compute | None:
    given = check.fields(node, path, ("instance_type",))
    type_name = check.typed(
        node, f"{path}.instance_type", given.get("instance_type"), str, "an EC2 instance type"
    )
    efa = check.typed(node, f"{path}.efa", given.get("efa", False), bool, "True or False")
    spot = check.typed(node, f"{path}.spot", given.get("spot", False), bool, "True or False")
    root = check.integer(
        node, f"{path}.root_volume_gib", given.get("root_volume_gib", 200), 30, 16384
    )
    subnets: tuple[str, ...] | None = None
    if given.get("subnet_ids") is not None:
        subnets = tuple(check_subnets(check, node, f"{path}.subnet_ids", given["subnet_ids"]))
    if type_name is None:
        return None
    instance = catalog.CATALOG.get(type_name)
    refused = catalog.REFUSED_FAMILIES.get(type_name.split(".")[0])
    if instance is None and refused:
        check.fail(
            node,
            f"{path}.instance_type",
            f"{shown(type_name)}: {refused}; ecsgen generates training jobs, use a GPU or "
            "Trainium type",
        )
        return None
    if instance is None:
        close = difflib.get_close_matches(type_name, catalog.CATALOG, n=1)
        hint = f"did you mean {shown(close[0])}? " if close else ""
        check.fail(
            node,
            f"{path}.instance_type",
            f"{shown(type_name)} is not in the GPU instance "
            f"catalog; {hint}known types: {', '.join(catalog.CATALOG)}",
        )
        return None
    max_cpu = instance.vcpus * 1024
    max_memory = int(instance.memory_gib * 1024 * EC2_MEMORY_SHARE)
    cpu = check.integer(node, f"{path}.cpu", given_or_default(given, "cpu", max_cpu), 128, None)
    if cpu is not None and cpu > max_cpu:
        check.fail(
            node,
            f"{path}.cpu",
            f"{type_name} can give a task at most {max_cpu} CPU "
            f"units ({instance.vcpus} vCPUs), got {shown(cpu)}",
        )
        cpu = None
    memory = check.integer(
        node, f"{path}.memory", given_or_default(given, "memory", max_memory), 512, None
    )
    if memory is not None and memory > max_memory:
        check.fail(
            node,
            f"{path}.memory",
            f"{type_name} can give a task at most {max_memory} "
            f"MiB ({int(EC2_MEMORY_SHARE * 100)}% of its {instance.memory_gib} GiB: ECS "
            f"registers less than the nominal memory), got {shown(memory)}",
        )
        memory = None
    if efa and not instance.efa:
        with_efa = [t.name for t in catalog.CATALOG.values() if t.efa]
        check.fail(
            node, f"{path}.efa", f"{type_name} has no EFA; types with EFA: {', '.join(with_efa)}"
        )
    if spot and not instance.spot:
        check.fail(node, f"{path}.spot", f"{type_name} is not offered as Spot")
    if efa and subnets is not None and len(subnets) != 1:
        check.fail(
            node,
            f"{path}.subnet_ids",
            f"EFA needs exactly one subnet (one AZ, one "
            f"cluster placement group); got {len(subnets)}: {shown(list(subnets))}",
        )
    ami_id = _ami_id(check, node, path, given.get("ami_id"), instance)
    reservation = None
    if given.get("reservation") is not None:
        reservation = check_reservation(check, node, path, given["reservation"], instance, spot)
        if reservation is None:
            return None
    ulimits = _ulimits(check, node, path, given.get("ulimits", {}), efa)
    if reservation and reservation.single_az and subnets is not None and len(subnets) != 1:
        check.fail(
            node,
            f"{path}.subnet_ids",
            f"a reservation lives in one Availability Zone: give exactly one subnet, in its "
            f"zone; got {len(subnets)}: {shown(list(subnets))}",
        )
    if cpu is None or memory is None or root is None or efa is None or spot is None:
        return None
    shm = check.integer(
        node, f"{path}.shm_mib", given_or_default(given, "shm_mib", memory // 4), 64, memory
    )
    if shm is None or ulimits is None or (instance.arm64 and ami_id is None):
        return None
    return Ec2Compute(
        instance, efa, spot, cpu, memory, shm, root, subnets, reservation, ulimits, ami_id
    )


def _ami_id(
    check: Checker, node: Ec2, path: str, value: object, instance: catalog.InstanceType
) -> str | None:
    """`Ec2(ami_id=...)`: required for arm64 GPU types (g5g), refused elsewhere. AWS publishes
    ECS-optimized GPU and Neuron AMIs for x86_64 only, so a g5g job boots the team's own AMI."""
    where = f"{path}.ami_id"
    if value is None:
        if instance.arm64:
            check.fail(
                node,
                where,
                f"{instance.name} is an arm64 (Graviton) GPU type and AWS publishes no "
                "ECS-optimized arm64 GPU AMI (the ECS GPU AMI is x86_64 only): give the ID of "
                "an arm64 AMI with the NVIDIA driver, the NVIDIA container toolkit and the ECS "
                'agent, e.g. ami_id="ami-0123456789abcdef0" (see docs/capacity-and-data.md)',
            )
        return None
    if not instance.arm64:
        check.fail(
            node,
            where,
            f"only arm64 GPU types (g5g) take an AMI ID; {instance.name} boots the "
            + (
                "ECS-optimized Neuron AMI (module variable neuron_ami_id overrides it)"
                if instance.neuron
                else "ECS GPU-optimized AMI (module variable ami_id overrides it)"
            ),
        )
        return None
    if not isinstance(value, str) or not AMI_ID.fullmatch(value):
        check.fail(
            node, where, f"must be an AMI ID (ami- and 8 or 17 hex digits), got {shown(value)}"
        )
        return None
    return value


def _ulimits(
    check: Checker, node: Ec2, path: str, value: object, efa: bool | None
) -> tuple[tuple[str, int, int], ...] | None:
    """`Ec2(ulimits={...})`: overrides of the bundled ulimits (and others ECS sets), by name;
    one number is both limits, a pair is (soft, hard)."""
    where = f"{path}.ulimits"
    raw = check.mapping(node, where, value)
    if raw is None:
        return None
    chosen: dict[str, tuple[int, int]] = {}
    ok = True
    for name, limit in raw.items():
        at = f"{where}[{shown(name)}]"
        if name not in ULIMIT_NAMES:
            check.fail(
                node,
                at,
                f"{shown(name)} is not a ulimit ECS sets; allowed: {', '.join(ULIMIT_NAMES)}",
            )
            ok = False
            continue
        pair = (limit, limit) if isinstance(limit, int) and not isinstance(limit, bool) else limit
        if (
            not isinstance(pair, tuple | list)
            or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
        ):
            check.fail(
                node, at, f"must be a whole number or a pair (SOFT, HARD), got {shown(limit)}"
            )
            ok = False
            continue
        soft, hard = pair
        if not all(v == -1 or 0 <= v <= MAX_ULIMIT for v in (soft, hard)):
            check.fail(
                node, at, f"limits are -1 (unlimited) or 0 to {MAX_ULIMIT}, got {shown(limit)}"
            )
            ok = False
        elif hard != -1 and (soft == -1 or soft > hard):
            check.fail(node, at, f"the soft limit must not exceed the hard one, got {shown(limit)}")
            ok = False
        elif name == "memlock" and efa and (soft, hard) != (-1, -1):
            check.fail(
                node,
                at,
                "EFA registers the training buffers with the network card and needs memlock "
                "unlimited (-1): drop this override, or use efa=False",
            )
            ok = False
        else:
            chosen[name] = (soft, hard)
    if not ok:
        return None
    return tuple((name, *chosen[name]) for name in sorted(chosen))
