"""`Fargate(...)`: a task size from AWS's cpu/memory table."""

from __future__ import annotations

from gen.errors import shown
from gen.spec import Fargate
from gen.validate.checker import Checker
from gen.validate.config import FargateCompute
from gen.validate.limits import FARGATE_SIZES

__all__ = ["check_fargate"]


def check_fargate(check: Checker, node: Fargate, path: str) -> FargateCompute | None:
    given = check.fields(node, path, ("cpu", "memory"))
    cpu = check.typed(node, f"{path}.cpu", given.get("cpu"), int, "a whole number of CPU units")
    memory = check.typed(node, f"{path}.memory", given.get("memory"), int, "a whole number of MiB")
    if cpu is None or memory is None:
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
    return FargateCompute(cpu, memory)
