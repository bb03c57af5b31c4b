"""`Fargate(...)`: a task size from AWS's cpu/memory table."""

from __future__ import annotations

from ..errors import shown
from ..spec import Fargate
from ..validate.checker import Checker
from ..validate.config import FargateCompute
from ..validate.limits import CPU_ARCHITECTURES, EPHEMERAL_GIB, FARGATE_SIZES

__all__ = ["check_fargate"]


def check_fargate(check: Checker, node: Fargate, path: str) -> FargateCompute | None:
    given = check.fields(node, path, ("cpu", "memory"))
    cpu = check.typed(node, f"{path}.cpu", given.get("cpu"), int, "a whole number of CPU units")
    memory = check.typed(node, f"{path}.memory", given.get("memory"), int, "a whole number of MiB")
    ephemeral = None
    if given.get("ephemeral_gib") is not None:
        ephemeral = check.typed(
            node, f"{path}.ephemeral_gib", given["ephemeral_gib"], int, "a whole number of GiB"
        )
        if ephemeral is None:
            return None
        low, high = EPHEMERAL_GIB
        if not low <= ephemeral <= high:
            check.fail(
                node,
                f"{path}.ephemeral_gib",
                f"Fargate gives a task {low} to {high} GiB of ephemeral storage (20 GiB without "
                f"ephemeral_gib), got {shown(ephemeral)}",
            )
            return None
    architecture = check.typed(
        node, f"{path}.cpu_architecture", given.get("cpu_architecture", "X86_64"), str, "a string"
    )
    if architecture is not None and architecture not in CPU_ARCHITECTURES:
        check.fail(
            node,
            f"{path}.cpu_architecture",
            f"Fargate runs {' or '.join(map(repr, CPU_ARCHITECTURES))}, got {shown(architecture)}",
        )
        return None
    if cpu is None or memory is None or architecture is None:
        return None
    if cpu not in FARGATE_SIZES:
        check.fail(
            node,
            f"{path}.cpu",
            f"Fargate has no cpu={shown(cpu)}; "
            f"valid cpu units: {', '.join(map(str, FARGATE_SIZES))}",
        )
        return None
    valid = FARGATE_SIZES[cpu]
    if memory not in valid:
        steps = valid[1] - valid[0]
        allowed = (
            ", ".join(map(str, valid))
            if len(valid) <= 4
            else f"{valid[0]} to {valid[-1]} in steps of {steps}"
        )
        check.fail(
            node,
            f"{path}.memory",
            f"Fargate cpu={cpu} does not allow memory={shown(memory)}; "
            f"valid memory for cpu={cpu}: {allowed} (MiB)",
        )
        return None
    return FargateCompute(cpu, memory, ephemeral, architecture)
