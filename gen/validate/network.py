"""`Network(...)` and subnet lists: the team's VPC and subnets (a job's own, for EFA)."""

from __future__ import annotations

from ..errors import shown
from ..spec import Network, SpecNode, Team
from ..validate.checker import Checker
from ..validate.limits import SUBNET_ID, VPC_ID

__all__ = ["check_network", "check_subnets"]


def check_subnets(check: Checker, node: SpecNode, path: str, value: object) -> list[str]:
    subnets = check.items(node, path, value, str, "a subnet id")
    if not subnets:
        check.fail(node, path, "must list at least one subnet id")
    for index, subnet in enumerate(subnets):
        if not SUBNET_ID.fullmatch(subnet):
            check.fail(
                node, f"{path}[{index}]", f"{shown(subnet)} is not a subnet id (subnet-0abc...)"
            )
    return subnets


def check_network(
    check: Checker, team: Team, value: object
) -> tuple[str | None, tuple[str, ...] | None]:
    if value is None:
        return None, None
    network = check.typed(team, "network", value, Network, "Network(vpc_id=..., subnet_ids=[...])")
    if network is None:
        return None, None
    given = check.fields(network, "network", ())
    vpc = given.get("vpc_id")
    if vpc is not None and (not isinstance(vpc, str) or not VPC_ID.fullmatch(vpc)):
        check.fail(network, "network.vpc_id", f"{shown(vpc)} is not a VPC id (vpc-0abc...)")
        vpc = None
    subnets = (
        tuple(check_subnets(check, network, "network.subnet_ids", given["subnet_ids"]))
        if given.get("subnet_ids") is not None
        else None
    )
    return (vpc if isinstance(vpc, str) else None), subnets
