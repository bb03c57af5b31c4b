"""What a change does to the infrastructure, read from the Terraform text: no Terraform run.

`team_impact(team, old, new)` compares a team module as it is on disk (`old`, file name -> text)
with its render (`new`) the way `terraform plan` would compare the two configurations against
a state that holds the old one: the resource addresses added, removed, changed in place and
replaced (destroyed and created again), and warnings for stateful resources whose loss loses
data (log groups, the run record, the topic's confirmed subscriptions).

How it decides, and where it can differ from Terraform (the tests compare it with `terraform
plan` on moto for a job rename, a team removal, a node-count and an image change):

* Each file is parsed (python-hcl2's grammar, `gen.fastparse`); comments and layout do not
  count. A resource whose arguments differ is changed. A resource that refers to a variable
  whose default changed, a local or data source whose value changed, or a resource that is
  added or replaced, is changed too (Terraform shows such values as "known after apply").
* A change replaces a resource when it touches an argument the provider cannot update in place
  (`gen.aws_rules.FORCE_NEW`, a table for the resource types ecsgen writes; names, above all).
* `count` and `for_each` are read with the module's variable defaults (what the spec decided):
  a resource with no instances there is in no list. A root module that sets such a variable
  can see more.
* `moved` blocks in the new text turn a removed and an added address into one moved resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .aws_rules import FORCE_NEW, NOT_STATEFUL, STATEFUL
from .hcl import Expr, Heredoc

__all__ = [
    "Impact",
    "Moved",
    "Total",
    "addresses",
    "moved_blocks",
    "summary_lines",
    "team_impact",
    "total",
    "total_line",
]

_REF = re.compile(
    r"(?<![\w.-])(?:(var|local)\.([A-Za-z_][\w-]*)"
    r"|data\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)"
    r"|([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*))"
)
_COUNT = re.compile(r"(var|local)\.([A-Za-z_][\w-]*)( == null)? \? 1 : 0")
_FOR_EACH = re.compile(r"toset\((var|local)\.([A-Za-z_][\w-]*)\)")
_UNKNOWN = object()


@dataclass(frozen=True, slots=True)
class Moved:
    """A resource whose address changes; Terraform keeps it (a `moved` block says so)."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Impact:
    """One team's change, as `terraform plan` would list it (addresses inside the module)."""

    team: str
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    change: tuple[str, ...] = ()  # updated in place
    replace: tuple[str, ...] = ()  # destroyed and created again
    moved: tuple[Moved, ...] = ()
    warnings: tuple[str, ...] = ()  # data lost unless someone acts first
    notes: tuple[str, ...] = ()  # what is left behind, what could not be read
    removed_team: bool = False  # the whole module goes
    new_team: bool = False  # the whole module is new

    def empty(self) -> bool:
        return not (self.add or self.remove or self.change or self.replace or self.moved)

    def counts(self) -> tuple[int, int, int]:
        """(to add, to remove, changed) as Terraform counts them: a replacement is one of each
        of the first two."""
        replaced = len(self.replace)
        return len(self.add) + replaced, len(self.remove) + replaced, len(self.change)

    def as_json(self) -> dict[str, object]:
        return {
            "team": self.team,
            "add": list(self.add),
            "remove": list(self.remove),
            "change": list(self.change),
            "replace": list(self.replace),
            "moved": [{"from": m.old, "to": m.new} for m in self.moved],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "removed_team": self.removed_team,
            "new_team": self.new_team,
        }


@dataclass(frozen=True, slots=True)
class Total:
    teams: int
    add: int
    remove: int
    change: int
    replace: int
    warnings: int

    def as_json(self) -> dict[str, int]:
        return {
            "teams": self.teams,
            "add": self.add,
            "remove": self.remove,
            "change": self.change,
            "replace": self.replace,
            "warnings": self.warnings,
        }


@dataclass(slots=True)
class _Module:
    """The symbols of one module's text: address -> arguments."""

    resources: dict[str, dict[str, object]] = field(default_factory=dict)
    data: dict[str, dict[str, object]] = field(default_factory=dict)
    variables: dict[str, object] = field(default_factory=dict)  # var.NAME -> default
    locals: dict[str, object] = field(default_factory=dict)  # local.NAME -> value
    moved: dict[str, str] = field(default_factory=dict)  # from -> to
    unreadable: list[str] = field(default_factory=list)


def _parse(text: str) -> dict[str, object]:
    from .fastparse import data  # noqa: PLC0415 - lark is imported when something changed

    return dict(data(text))


def _blocks(doc: Mapping[str, object], key: str) -> Iterable[tuple[str, object]]:
    for entry in doc.get(key, []) or []:  # type: ignore[attr-defined]
        if isinstance(entry, Mapping):
            yield from entry.items()


def _module(
    files: Mapping[str, str], parsed: dict[str, dict[str, object]] | None = None
) -> _Module:
    """The symbols of a module; `parsed` caches parses by text (a file the change leaves alone
    is parsed once for both sides)."""
    found = _Module()
    for name in sorted(files):
        if not name.endswith(".tf"):
            continue
        try:
            text = files[name]
            doc = parsed[text] if parsed is not None and text in parsed else _parse(text)
            if parsed is not None:
                parsed[text] = doc
        except Exception:  # noqa: BLE001 - a hand edit that does not parse: say so, go on
            found.unreadable.append(name)
            continue
        for kind, by_name in _blocks(doc, "resource"):
            for label, body in dict(by_name).items():  # type: ignore[call-overload]
                found.resources[f"{kind}.{label}"] = dict(body)
        for kind, by_name in _blocks(doc, "data"):
            for label, body in dict(by_name).items():  # type: ignore[call-overload]
                found.data[f"data.{kind}.{label}"] = dict(body)
        for label, body in _blocks(doc, "variable"):
            default = dict(body).get("default", _UNKNOWN)  # type: ignore[call-overload]
            found.variables[f"var.{label}"] = default
        for entry in doc.get("locals", []) or []:  # type: ignore[attr-defined]
            for label, value in dict(entry).items():
                found.locals[f"local.{label}"] = value
        for entry in doc.get("moved", []) or []:  # type: ignore[attr-defined]
            body = dict(entry)
            old, new = _text(body.get("from")), _text(body.get("to"))
            if old and new:
                found.moved[old] = new
    return found


def _text(value: object) -> str:
    return value.text.strip() if isinstance(value, Expr) else str(value or "")


def _canon(value: object) -> object:
    """A value as compared: expressions with their spacing ignored, mappings sorted."""
    if isinstance(value, Expr):
        return ("expr", " ".join(value.text.split()))
    if isinstance(value, Heredoc):
        return ("heredoc", value.text)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _canon(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_canon(v) for v in value)
    return value


def _refs(value: object) -> set[str]:
    """Every `var.X`, `local.X`, `data.T.N` and `T.N` named in a value."""
    found: set[str] = set()
    for match in _REF.finditer(repr(_canon(value))):
        kind, name, dtype, dname, rtype, rname = match.groups()
        if kind:
            found.add(f"{kind}.{name}")
        elif dtype:
            found.add(f"data.{dtype}.{dname}")
        else:
            found.add(f"{rtype}.{rname}")
    return found


def _has_instances(body: Mapping[str, object], module: _Module) -> bool:
    """False when `count` or `for_each` gives no instance with the module's defaults."""
    count = body.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count > 0
    if isinstance(count, Expr):
        found = _COUNT.fullmatch(" ".join(count.text.split()))
        if found:
            value = _value(f"{found[1]}.{found[2]}", module)
            if value is not _UNKNOWN:
                return (value is None) if found[3] else bool(value)
    each = body.get("for_each")
    if isinstance(each, Expr):
        found = _FOR_EACH.fullmatch(" ".join(each.text.split()))
        if found:
            value = _value(f"{found[1]}.{found[2]}", module)
            if isinstance(value, list):
                return bool(value)
    return True


def _value(symbol: str, module: _Module) -> object:
    if symbol.startswith("var."):
        return module.variables.get(symbol, _UNKNOWN)
    value = module.locals.get(symbol, _UNKNOWN)
    return _UNKNOWN if isinstance(value, Expr) else value


def _replaces(
    kind: str, old: Mapping[str, object], new: Mapping[str, object], new_refs: set[str]
) -> bool:
    """True when the change from `old` to `new` touches an argument that forces a new resource
    (or such an argument refers to something whose value is new: `new_refs`)."""
    table = FORCE_NEW.get(kind, frozenset())
    if "*" in table:
        keep = {k[1:] for k in table if k.startswith("!")}
        names = (set(old) | set(new)) - keep
    else:
        names = set(table)
    for name in names:
        was, now = _get(old, name), _get(new, name)
        if _canon(was) != _canon(now) or _refs(now) & new_refs:
            return True
    return False


def _get(body: object, path: str) -> object:
    """The value at a dotted `path` (nested blocks are lists of mappings); None when absent."""
    value = body
    for part in path.split("."):
        if isinstance(value, list):
            value = [v.get(part) if isinstance(v, Mapping) else None for v in value]
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
    return value


def _changed_values(old: _Module, new: _Module, new_resources: set[str]) -> set[str]:
    """Variables, locals and data sources whose value differs between `old` and `new`
    (directly, or through what they refer to), plus `new_resources` (added or replaced)."""
    changed = set(new_resources)
    for symbol, default in new.variables.items():
        if _canon(old.variables.get(symbol, _UNKNOWN)) != _canon(default):
            changed.add(symbol)
    values: dict[str, tuple[object, object]] = {
        **{s: (old.locals.get(s, _UNKNOWN), v) for s, v in new.locals.items()},
        **{s: (old.data.get(s, _UNKNOWN), v) for s, v in new.data.items()},
    }
    for symbol, (before, after) in values.items():
        if _canon(before) != _canon(after):
            changed.add(symbol)
    grew = True
    while grew:  # follow references until nothing more changes (the graph is acyclic)
        grew = False
        for symbol, (_, after) in values.items():
            if symbol not in changed and _refs(after) & changed:
                changed.add(symbol)
                grew = True
    return changed


def team_impact(team: str, old: Mapping[str, str], new: Mapping[str, str]) -> Impact:
    """What applying `new` (file name -> text) does where `old` was applied."""
    parsed: dict[str, dict[str, object]] = {}
    before, after = _module(old, parsed), _module(new, parsed)
    moved = {
        a: b
        for a, b in after.moved.items()
        if a in before.resources and _has_instances(before.resources[a], before)
    }
    if moved:  # compare what Terraform compares: the old text as if it had the new addresses
        before = _with_moves(before, moved)
    live_old = {a for a, body in before.resources.items() if _has_instances(body, before)}
    live_new = {a for a, body in after.resources.items() if _has_instances(body, after)}
    add = sorted(live_new - live_old)
    remove = sorted(live_old - live_new)
    both = sorted(live_new & live_old)
    # Replacements make new values that refer-ers see; resolve them before in-place changes.
    new_values: set[str] = set(add)
    replace: set[str] = set()
    grew = True
    while grew:
        grew = False
        values = _changed_values(before, after, new_values)
        for address in both:
            if address in replace:
                continue
            kind = address.split(".", 1)[0]
            was = before.resources[address]
            if _replaces(kind, was, after.resources[address], values):
                replace.add(address)
                new_values.add(address)
                grew = True
    values = _changed_values(before, after, new_values)
    change = []
    for address in both:
        if address in replace:
            continue
        was, now = before.resources[address], after.resources[address]
        if _canon(was) != _canon(now) or _refs(now) & values:
            change.append(address)
    warnings = [
        text
        for address in [*remove, *sorted(replace)]
        if (text := _stateful(address, before.resources[address]))
    ]
    notes = [
        text
        for address in [*remove, *sorted(replace)]
        if (text := _kept(address, before.resources[address]))
    ]
    notes.extend(_job_renames(team, old, new, warnings))
    notes.extend(
        f"{name} does not parse; its resources are not in this summary"
        for name in before.unreadable
    )
    return Impact(
        team,
        tuple(add),
        tuple(remove),
        tuple(change),
        tuple(sorted(replace)),
        tuple(Moved(a, b) for a, b in sorted(moved.items())),
        tuple(warnings),
        tuple(notes),
        removed_team=not new,
        new_team=not old,
    )


def _with_moves(module: _Module, moved: Mapping[str, str]) -> _Module:
    """`module` with each moved resource at its new address, and every reference to it too."""
    names = "|".join(re.escape(a) for a in sorted(moved, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])(?<!data\.)(?:{names})(?![\w-])")

    def rewrite(value: object) -> object:
        if isinstance(value, Expr):
            return Expr(pattern.sub(lambda m: moved[m[0]], value.text))
        if isinstance(value, str):
            return pattern.sub(lambda m: moved[m[0]], value)
        if isinstance(value, Heredoc):
            return Heredoc(pattern.sub(lambda m: moved[m[0]], value.text))
        if isinstance(value, Mapping):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [rewrite(v) for v in value]
        return value

    def body(value: Mapping[str, object]) -> dict[str, object]:
        return {k: rewrite(v) for k, v in value.items()}

    return _Module(
        {moved.get(a, a): body(b) for a, b in module.resources.items()},
        {a: body(b) for a, b in module.data.items()},
        dict(module.variables),
        {a: rewrite(v) for a, v in module.locals.items()},
        dict(module.moved),
        list(module.unreadable),
    )


def _name(body: Mapping[str, object]) -> str:
    value = body.get("name")
    return value if isinstance(value, str) else "(its name is computed)"


def _stateful(address: str, body: Mapping[str, object]) -> str:
    kind = address.split(".", 1)[0]
    if kind not in STATEFUL or body.get("skip_destroy") is True or NOT_STATEFUL.fullmatch(address):
        return ""
    lost, action = STATEFUL[kind]
    name = _name(body)
    return f"{address}: {lost.format(name=name)} will be deleted; {action.format(name=name)}"


def _kept(address: str, body: Mapping[str, object]) -> str:
    if (
        address.split(".", 1)[0] != "aws_cloudwatch_log_group"
        or body.get("skip_destroy") is not True
    ):
        return ""
    name = _name(body)
    return (
        f"{address}: the log group {name} stays in AWS with its logs (skip_destroy): Terraform "
        f"only forgets it. Delete it when no longer needed: aws logs delete-log-group "
        f"--log-group-name {name}"
    )


def _job_files(files: Iterable[str]) -> set[str]:
    return {n for n in files if n.startswith("job_") and n.endswith(".tf")}


def _job_renames(
    team: str, old: Mapping[str, str], new: Mapping[str, str], warnings: list[str]
) -> list[str]:
    if not new:
        return []
    gone = sorted(_job_files(old) - _job_files(new))
    came = sorted(_job_files(new) - _job_files(old))
    if not (gone and came):
        return []
    lost = "; the warnings say what is lost" if warnings else ""
    return [
        f"team {team}: {', '.join(gone)} is gone and {', '.join(came)} is new. If a job was "
        "renamed, nothing of it carries over: every AWS name carries the job's name (log "
        "group, run record, services, roles), so the job's resources are destroyed and created "
        f"again under the new name{lost}"
    ]


def addresses(files: Mapping[str, str], *, data: bool = True) -> list[str]:
    """Every resource address a module declares (`TYPE.NAME`), sorted; data sources as
    `data.TYPE.NAME` unless `data` is False."""
    found = _module(files)
    return sorted([*found.resources, *(found.data if data else ())])


def moved_blocks(files: Mapping[str, str]) -> dict[str, str]:
    """The module's `moved {}` blocks: old address -> new address."""
    return dict(_module(files).moved)


def total(impacts: Iterable[Impact]) -> Total:
    counted = [i for i in impacts if not i.empty() or i.warnings]
    add = remove = change = replace = warnings = 0
    for impact in counted:
        a, r, c = impact.counts()
        add, remove, change = add + a, remove + r, change + c
        replace += len(impact.replace)
        warnings += len(impact.warnings)
    return Total(len(counted), add, remove, change, replace, warnings)


def total_line(found: Total) -> str:
    """`3 teams: 12 to add, 12 to remove, 4 changed`, Terraform's way of counting."""
    teams = f"{found.teams} team{'s' if found.teams != 1 else ''}"
    replaced = f" ({found.replace} replaced)" if found.replace else ""
    warned = (
        f"; {found.warnings} warning{'s' if found.warnings != 1 else ''}" if found.warnings else ""
    )
    counts = f"{found.add} to add, {found.remove} to remove{replaced}, {found.change} changed"
    return f"{teams}: {counts}{warned}"


def summary_lines(impact: Impact) -> list[str]:
    """One team's summary for people: a heading, one line per address, warnings, notes."""
    add, remove, change = impact.counts()
    whole = impact.new_team or impact.removed_team  # every address: the count says enough
    gone = " (a new module)" if impact.new_team else ""
    gone = " (the team's module is removed)" if impact.removed_team else gone
    lines = [f"team {impact.team}{gone}: {add} to add, {remove} to remove, {change} changed"]
    lines.extend(f"  + {a}" for a in impact.add if not whole)
    lines.extend(f"  - {a}" for a in impact.remove if not whole)
    lines.extend(f"-/+ {a} (replaced)" for a in impact.replace)
    lines.extend(f"  ~ {a}" for a in impact.change)
    lines.extend(f"  > {m.old} moved to {m.new}" for m in impact.moved)
    lines.extend(f"  warning: {w}" for w in impact.warnings)
    lines.extend(f"  note: {n}" for n in impact.notes)
    return lines
