"""The model's primitives: a `Decl` is one block the templates write, with the values Python
decided for it; the builders below make them. Nothing here knows a concern (IAM, capacity, ...):
every concern module builds on these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..hcl import Expr, identifier, interpolate

__all__ = [
    "ACCOUNT",
    "NO_DEFAULT",
    "PARTITION",
    "PRESENT",
    "Decl",
    "arn",
    "data",
    "local_values",
    "output",
    "ref",
    "resource",
    "statement",
    "variable",
]

ACCOUNT = Expr("data.aws_caller_identity.current.account_id")


PARTITION = Expr("data.aws_partition.current.partition")


class _Present:
    """A value the model requires to exist without deciding it (a `locals` entry whose
    expression is the template's)."""

    def __repr__(self) -> str:
        return "PRESENT"


PRESENT = _Present()


@dataclass(frozen=True, slots=True)
class Decl:
    """One block the templates write, and the values the model decided for it.

    `kind` is the block type (`resource`, `data`, `variable`, `output`, `locals`, `terraform`),
    `rtype` and `label` its labels. Templates read a value as an attribute (`role.name`);
    `at` says where in the parsed block a value must be found when that differs from its key
    (dotted; digits index nested blocks: `lifecycle.0.postcondition.0.condition`).
    """

    kind: str
    rtype: str = ""
    label: str = ""
    args: Mapping[str, object] = field(default_factory=dict)
    at: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label in (self.rtype, self.label):
            if label:
                identifier(label)  # templates place labels as they are: they must be safe

    def __getattr__(self, key: str) -> object:
        if key in ("args", "at") or key.startswith("__"):
            raise AttributeError(key)
        try:
            return self.args[key]
        except KeyError:
            raise AttributeError(f"{self.address} has no value {key!r}") from None

    @property
    def address(self) -> str:
        """The block's Terraform address (`locals` and `terraform` blocks have none)."""
        if self.kind == "resource":
            return f"{self.rtype}.{self.label}"
        if self.kind == "data":
            return f"data.{self.rtype}.{self.label}"
        if self.kind == "variable":
            return f"var.{self.label}"
        if self.kind == "output":
            return f"output.{self.label}"
        return self.kind


def resource(rtype: str, label: str, at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("resource", rtype, label, args, at or {})


def data(rtype: str, label: str, at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("data", rtype, label, args, at or {})


def local_values(at: Mapping[str, str] | None = None, **args: object) -> Decl:
    return Decl("locals", args=args, at=at or {})


def ref(*parts: str) -> Expr:
    return Expr(".".join(parts))


NO_DEFAULT = object()


def variable(
    name: str,
    type_: str,
    description: str,
    default: object = NO_DEFAULT,
    validations: Sequence[tuple[str, str]] = (),
    nullable: bool | None = None,
) -> Decl:
    args: dict[str, object] = {"description": description, "type": Expr(type_)}
    if default is not NO_DEFAULT:
        args["default"] = default
    if nullable is not None:
        args["nullable"] = nullable
    args["validation"] = [
        {"condition": Expr(cond), "error_message": message} for cond, message in validations
    ]
    return Decl("variable", label=name, args=args)


def output(name: str, description: str, value: object) -> Decl:
    return Decl("output", label=name, args={"description": description, "value": value})


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[object],
    conditions: Sequence[tuple[str, str, Sequence[object]]] = (),
    principals: Sequence[tuple[str, Sequence[object]]] = (),
) -> dict[str, object]:
    """One IAM policy statement (always `Allow`), keyed as the `statement` block's arguments."""
    body: dict[str, object] = {"sid": sid, "actions": sorted(actions)}
    if resources:
        body["resources"] = list(resources)
    body["principals"] = [{"type": kind, "identifiers": list(ids)} for kind, ids in principals]
    body["condition"] = [
        {"test": test, "variable": var, "values": list(values)} for test, var, values in conditions
    ]
    return body


def arn(service: str, resource_: str, region: str = "", account: bool = True) -> Expr:
    """An ARN with the partition (and account) taken from the provider's identity."""
    parts: list[str | Expr] = ["arn:", PARTITION, f":{service}:{region}:"]
    if account:
        parts.append(ACCOUNT)
    parts.append(f":{resource_}")
    return interpolate(*parts)
