"""`Ec2(reservation=...)`: a targeted On-Demand Capacity Reservation (its ID, or
`Reservation(...)`), a resource group of them (its ARN), or a Capacity Block for ML
(`CapacityBlock(...)`), checked against the job's instance type."""

from __future__ import annotations

from .. import catalog
from ..errors import shown
from ..spec import CapacityBlock, Ec2, Reservation
from ..validate.checker import Checker
from ..validate.config import ReservationConfig
from ..validate.limits import (
    CAPACITY_BLOCK_SIZES,
    MAX_NODES,
    RESERVATION_ID,
    RESOURCE_GROUP_ARN,
)

__all__ = ["check_reservation"]

_FORMS = (
    'a reservation ID ("cr-..."), a resource group ARN '
    "(arn:aws:resource-groups:REGION:ACCOUNT:group/NAME), Reservation(...) or "
    'CapacityBlock("cr-...")'
)


def check_reservation(
    check: Checker,
    node: Ec2,
    path: str,
    value: object,
    instance: catalog.InstanceType | None,
    spot: bool | None,
) -> ReservationConfig | None:
    """None when absent or wrong (reported)."""
    where = f"{path}.reservation"
    if isinstance(value, str):
        return _target(check, node, where, where, value, None, None, False, instance, spot)
    if not isinstance(value, Reservation | CapacityBlock):
        check.fail(node, where, f"must be {_FORMS}, got {shown(value)}")
        return None
    given = check.fields(value, where, ("id",))
    ident = check.typed(value, f"{where}.id", given.get("id"), str, "a string")
    instances = None
    if given.get("instances") is not None:
        instances = check.integer(value, f"{where}.instances", given["instances"], 1, MAX_NODES)
        if instances is None:
            return None
    held = None
    if given.get("instance_type") is not None:
        held = check.typed(
            value, f"{where}.instance_type", given["instance_type"], str, "an EC2 instance type"
        )
        if held is None:
            return None
    if ident is None:
        return None
    block = isinstance(value, CapacityBlock)
    return _target(
        check, value, where, f"{where}.id", ident, held, instances, block, instance, spot
    )


def _target(
    check: Checker,
    node: Ec2 | Reservation | CapacityBlock,
    where: str,
    id_path: str,
    ident: str,
    held: str | None,
    instances: int | None,
    block: bool,
    instance: catalog.InstanceType | None,
    spot: bool | None,
) -> ReservationConfig | None:
    group = RESOURCE_GROUP_ARN.fullmatch(ident) is not None
    if block and not RESERVATION_ID.fullmatch(ident):
        check.fail(
            node,
            id_path,
            f"{shown(ident)} is not a Capacity Block's reservation ID: use the cr-... ID EC2 "
            "shows for the block (aws ec2 describe-capacity-reservations)",
        )
        return None
    if not group and not RESERVATION_ID.fullmatch(ident):
        check.fail(
            node,
            id_path,
            f"{shown(ident)} is neither a Capacity Reservation ID (cr- and 17 hex digits) nor a "
            "resource group ARN (arn:aws:resource-groups:REGION:ACCOUNT:group/NAME)",
        )
        return None
    if spot:
        check.fail(
            node,
            where,
            "Spot instances cannot launch into a reservation: an On-Demand Capacity "
            "Reservation holds On-Demand capacity and a Capacity Block is its own market; "
            "use spot=False with a reservation",
        )
        return None
    if instance is not None and held is not None and held != instance.name:
        check.fail(
            node,
            f"{where}.instance_type",
            f"the reservation holds {held} instances and the job asks for {instance.name}: "
            "an instance launches into a targeted reservation only with the reservation's "
            "instance type",
        )
        return None
    if block and instance is not None and not instance.capacity_block:
        offered = [t.name for t in catalog.CATALOG.values() if t.capacity_block]
        check.fail(
            node,
            where,
            f"Capacity Blocks for ML are not sold for {instance.name}; they hold "
            f"{', '.join(offered)}",
        )
        return None
    if block and instances is not None and instances not in CAPACITY_BLOCK_SIZES:
        check.fail(
            node,
            f"{where}.instances",
            f"EC2 sells Capacity Blocks of {', '.join(map(str, CAPACITY_BLOCK_SIZES))} "
            f"instances, got {shown(instances)}",
        )
        return None
    return ReservationConfig(
        capacity_block=block,
        reservation_id=None if group else ident,
        group_arn=ident if group else None,
        instances=instances,
    )
