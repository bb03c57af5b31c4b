"""The checker machinery: a `Checker` collects one spec file's problems, each placed at the
field's line; `sane` bounds every value before the field checks read it. No rule of any spec
object lives here (those are `team`, `job`, `env`, `fargate`, `ec2`, `s3`, `network`)."""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from ..errors import Problem, safe_text, shown
from ..load import display_path
from ..spec import Fargate, SpecNode
from ..validate.limits import (
    FARGATE_CANNOT,
    INTEGER_TEXT,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_NAME,
    MAX_OTHER_ITEMS,
    MAX_TEAM_AND_JOB,
    MAX_TEXT,
    NAME,
    NAME_RULE,
)

__all__ = ["MISSING", "Checker", "control_reason", "given_or_default", "plain", "sane"]

MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()  # reported once
T = TypeVar("T")


def given_or_default(given: Mapping[str, object], key: str, default: object) -> object:
    """The field's value; `None` (the documented default of optional fields) means the default."""
    value = given.get(key)
    return default if value is None else value


_CALL_LINES: dict[str, dict[tuple[int, ...], dict[str, int]]] = {}


def _call_lines(file: str) -> dict[tuple[int, ...], dict[str, int]]:
    """For each call in `file`, keyed by its source span: the line of each keyword argument."""
    if file not in _CALL_LINES:
        found: dict[tuple[int, ...], dict[str, int]] = {}
        try:
            tree = ast.parse(Path(file).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])
        for call in ast.walk(tree):
            if isinstance(call, ast.Call):
                lines = {kw.arg: kw.value.lineno for kw in call.keywords if kw.arg}
                if call.args:
                    lines["<positional>"] = call.args[0].lineno
                span = (call.lineno, call.end_lineno or 0, call.col_offset, call.end_col_offset)
                found[tuple(x or 0 for x in span)] = lines
        _CALL_LINES[file] = found
    return _CALL_LINES[file]


def _field_line(node: SpecNode, path: str) -> int | None:
    """The line of the field of `node` that `path` names (its keyword argument), if known."""
    if node.span is None:
        return None
    lines = _call_lines(node.file).get(node.span)
    if not lines:
        return None
    words = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", path).split(".")
    for word in reversed(words):
        if word in lines:
            return lines[word]
    if path.endswith(("compute", "")) and "<positional>" in lines:
        return lines["<positional>"]
    return None


_SCALARS = frozenset({int, bool, float, type(None)})


def plain(value: object) -> object:
    """`value` with every `str`, `int` and `float` subclass (a spec's own `StrEnum`, `IntEnum`,
    `class Stage(str)`) turned into the plain value it stands for, inside plain lists, tuples
    and dicts too: the validated configuration holds only plain values, which pickle anywhere
    (the class lives in the spec's module, which the parent process cannot import). Read with
    the base types' own methods, so a subclass's `__str__` or `__int__` is never called."""
    kind = type(value)
    if kind in _SCALARS or kind is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if kind is list:
        return [plain(item) for item in value]  # type: ignore[attr-defined]
    if kind is tuple:
        return tuple(plain(item) for item in value)  # type: ignore[attr-defined]
    if kind is dict:
        return {plain(k): plain(v) for k, v in value.items()}  # type: ignore[attr-defined]
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def control_reason(text: str) -> str | None:
    """Why `text` (a command word, an environment value) cannot be passed on, or None: NUL
    ends a C string, so no process can receive it in an argument or its environment; the other
    C0 control characters (tab, newline and carriage return aside) are invisible in the task
    definition, the console and the logs, and are nearly always a paste mistake."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    char = found[0]
    if char == "\x00":
        return (
            f"holds a NUL character (at {found.start()}), which no process can receive: "
            "arguments and environment values are C strings, ended by NUL"
        )
    return (
        f"holds the control character U+{ord(char):04X} (at {found.start()}); control "
        "characters other than tab, newline and carriage return are refused: they are "
        "invisible in the task definition, the console and the logs"
    )


def sane(check: Checker, node: SpecNode, path: str, value: object, field: str, depth: int) -> bool:
    """Bounds that hold for every field: string length, UTF-8-encodable text, collection sizes.
    False (with the problem reported) when the value is too wild to validate further."""
    if type(value) in _SCALARS:  # most values: nothing to bound (and no ABC checks to pay)
        return True
    if isinstance(value, SpecNode):
        if depth > MAX_DEPTH:
            return True
        ok = True
        for key, item in list(value.fields.items()):
            item = value.fields[key] = plain(item)  # noqa: PLW2901 - the plain value is checked
            where = f"{path}.{key}" if path else key
            ok = sane(check, value, where, item, key, depth + 1) and ok
        return ok
    if isinstance(value, str):
        if field == "name" and len(value) > MAX_NAME:
            check.fail(
                node,
                path,
                f"is {len(value)} characters long; names have at most {MAX_NAME} "
                f"(and a team name and a job name together at most {MAX_TEAM_AND_JOB})",
            )
            return False
        if len(value) > MAX_TEXT:
            check.fail(
                node, path, f"is {len(value)} characters long; ecsgen accepts at most {MAX_TEXT}"
            )
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            check.fail(
                node,
                path,
                f"{shown(value)} holds a lone surrogate ({shown(value[exc.start])}), which is "
                "not text: UTF-8 cannot encode it, and neither Terraform nor AWS can take it",
            )
            return False
        return True
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        limit = MAX_ITEMS.get(field, MAX_OTHER_ITEMS)
        try:
            size = len(value)
            if size > limit:
                check.fail(node, path, f"has {size} entries; ecsgen accepts at most {limit}")
                return False
            if depth > MAX_DEPTH:
                return True
            pairs = list(value.items()) if isinstance(value, Mapping) else list(enumerate(value))
        except Exception as exc:  # noqa: BLE001 - a hostile container must not crash the report
            check.fail(node, path, f"cannot be read ({type(exc).__name__}: {safe_text(exc)})")
            return False
        ok = True
        for entry, item in pairs:
            where = f"{path}[{shown(entry)}]"
            if isinstance(value, Mapping):
                ok = sane(check, node, where, entry, field, depth + 1) and ok
            ok = sane(check, node, where, item, field, depth + 1) and ok
        return ok
    return True


class Checker:
    """Collects problems for one spec file; `team` is filled in once the name is known."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.team: str | None = None
        self.problems: list[Problem] = []

    def fail(self, node: SpecNode | None, path: str, message: str) -> None:
        line = None
        if node is not None and display_path(node.file) == self.file:
            line = _field_line(node, path) or node.line
        self.problems.append(Problem(self.file, line, self.team, path, message))

    def fields(self, node: SpecNode, path: str, required: Sequence[str]) -> dict[str, object]:
        """The node's fields after the unknown-field and missing-field checks."""
        kind = type(node).__name__
        allowed = node.allowed()
        given = dict(node.fields)
        extra = given.pop("<positional>", None)
        if isinstance(extra, list):
            missing = [k for k in required if k not in given]
            if missing:
                spelled = ", ".join(f"{k}={shown(v)}" for k, v in zip(missing, extra, strict=False))
                more = ", ..." if len(missing) > len(extra) else ""
                self.fail(
                    node, path, f"{kind} takes keyword arguments: write {kind}({spelled}{more})"
                )
                for key in missing:
                    given[key] = MISSING  # reported just now
            else:
                self.fail(
                    node,
                    path,
                    f"{kind} takes keyword arguments only "
                    f"(besides {', '.join(node.positional) or 'none'}); got extra {shown(extra)}",
                )
        for key in sorted(k for k in given if k not in allowed):
            value = given.pop(key)
            where = f"{path}.{key}" if path else key
            if isinstance(node, Fargate) and key in FARGATE_CANNOT:
                self.fail(
                    node,
                    where,
                    f"Fargate cannot provide {FARGATE_CANNOT[key]} "
                    f"(got {key}={shown(value)}); use compute=Ec2(instance_type=...) for GPU work",
                )
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {shown(close[0])}? " if close else ""
            self.fail(
                node,
                where,
                f"unknown field {shown(key)} for {kind}; {hint}allowed: {', '.join(allowed)}",
            )
        for key in required:
            if key not in given:
                where = f"{path}.{key}" if path else key
                self.fail(node, where, f"{kind} needs {shown(key)}")
                given[key] = MISSING  # reported: later checks of the field stay silent
        return given

    def typed(
        self,
        node: SpecNode,
        path: str,
        value: object,
        kind: type[T] | tuple[type, ...],
        expected: str,
    ) -> T | None:
        if value is MISSING:
            return None
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int,)))
        if not ok:
            hint = ""
            if kind in (int, (int,)) and isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
                hint = f" (a string: write {value.strip()} without quotes)"
            self.fail(node, path, f"must be {expected}, got {shown(value)}{hint}")
            return None
        return value  # type: ignore[return-value]

    def integer(
        self,
        node: SpecNode,
        path: str,
        value: object,
        low: int,
        high: int | None,
    ) -> int | None:
        number = self.typed(node, path, value, int, "a whole number")
        if number is None:
            return None
        if number < low or (high is not None and number > high):
            bound = f">= {low}" if high is None else f"between {low} and {high}"
            self.fail(node, path, f"must be {bound}, got {shown(number)}")
            return None
        return number

    def name(self, node: SpecNode, path: str, value: object) -> str | None:
        text = self.typed(node, path, value, str, "a string")
        if text is not None and len(text) > MAX_NAME:
            self.fail(
                node,
                path,
                f"{shown(text)} is {len(text)} characters long; names have at most {MAX_NAME} "
                f"(and a team name and a job name together at most {MAX_TEAM_AND_JOB})",
            )
            return None
        if text is not None and not NAME.fullmatch(text):
            self.fail(node, path, f"{shown(text)} is not a valid name: use {NAME_RULE}")
            return None
        return text

    def mapping(self, node: SpecNode, path: str, value: object) -> dict[str, object] | None:
        if value is MISSING:
            return None
        got = self.typed(node, path, value, Mapping, "a dict of strings to strings")
        return None if got is None else dict(got)

    def items(
        self,
        node: SpecNode,
        path: str,
        value: object,
        kind: type[T],
        expected: str,
    ) -> list[T]:
        if value is MISSING:
            return []
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            self.fail(node, path, f"must be a list of {expected}, got {shown(value)}")
            return []
        found: list[T] = []
        for index, item in enumerate(value):
            if isinstance(item, kind):
                found.append(item)
            else:
                self.fail(node, f"{path}[{index}]", f"must be {expected}, got {shown(item)}")
        return found
