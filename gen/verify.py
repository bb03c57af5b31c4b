"""Checking rendered output: parse every `.tf` file back with python-hcl2 and find in it, as
data, every value the model decided (`Module.decls()`: each block's address and values, and
where each belongs). The expectations come from the model, never from a template, so a
template (bundled or overridden) that drops, moves or mistypes a value fails here, named by
file, address and field. Whatever a template adds beyond them is its own business."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from . import fastparse
from .errors import OutputError, TemplateError
from .hcl import Expr, Heredoc
from .model import PRESENT, Decl, Module
from .write import has_exact_header, read_regular

__all__ = ["check_decls", "module_rules", "parse", "verify_files", "verify_module_dir"]

_SPACE = re.compile(r"[\s,]+")


def _canon(value: object) -> object:
    """A form in which parsed and intended values compare equal when they mean the same."""
    if isinstance(value, Expr):
        text = value.text
        if text.startswith('"') and text.endswith('"'):
            return ("template", text)
        return ("expr", _SPACE.sub("", text))
    if isinstance(value, Heredoc):
        return value.text
    if isinstance(value, Mapping):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def _block(doc: Mapping[str, object], decl: Decl) -> Mapping[str, object] | None:
    """The parsed body of `decl`'s block in `doc` (all `locals` blocks merged), or None."""
    entries = doc.get(decl.kind, [])
    assert isinstance(entries, list)
    if decl.kind == "locals":
        return {k: v for entry in entries for k, v in entry.items()}
    if decl.kind == "terraform":
        return entries[0] if entries else None
    for entry in entries:
        found = entry.get(decl.rtype) if decl.kind in ("resource", "data") else entry
        if isinstance(found, dict) and decl.label in found:
            body = found[decl.label]
            return body if isinstance(body, dict) else None
    return None


def _no_blocks(value: object) -> bool:
    """No nested blocks of a kind: python-hcl2 has no key for them at all."""
    return isinstance(value, list | tuple) and not value


def _mismatch(got: object, want: object, path: str) -> str | None:
    """Where `got` (parsed) fails to hold `want` (intended): every intended key of an object
    must be there with its value (an override may add keys); a list must match item by item."""
    if want is PRESENT:
        return None
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return f"{path}: parsed {got!r}, intended an object"
        for key, value in want.items():
            if key not in got:
                if _no_blocks(value):
                    continue
                return f"{path}.{key}: missing"
            problem = _mismatch(got[key], value, f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(want, list | tuple):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: parsed {got!r}, intended {list(want)!r}"
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            problem = _mismatch(g, w, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if _canon(got) != _canon(want):
        return f"{path}: parsed {got!r}, intended {want!r}"
    return None


def _lookup(body: object, path: str) -> tuple[object, str | None]:
    """The value at a dotted `path` in a parsed block (digits index nested blocks)."""
    node = body
    walked = ""
    for part in path.split("."):
        walked = f"{walked}.{part}" if walked else part
        if part.isdigit() and isinstance(node, list) and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None, walked
    return node, None


def check_decls(doc: Mapping[str, object], decls: Sequence[Decl]) -> list[str]:
    """What of the model's `decls` the parsed file `doc` lacks or holds with another value:
    one line per problem, `address.field: what`."""
    problems: list[str] = []
    for decl in decls:
        body = _block(doc, decl)
        if body is None:
            problems.append(f"{decl.address}: missing")
            continue
        for key, want in decl.args.items():
            path = decl.at.get(key, key)
            if not path:
                continue  # a fact for the templates' `if`s, not a value they place
            got, missing = _lookup(body, path)
            where = f"{decl.address}.{path}" if decl.kind != "locals" else f"local.{path}"
            if missing is not None:
                if not _no_blocks(want):
                    problems.append(f"{where}: missing")
                continue
            problem = _mismatch(got, want, where)
            if problem:
                problems.append(problem)
    return problems


_LINE = re.compile(r"line (\d+)")


def _parse_error(exc: Exception, text: str) -> str:
    """The parser's complaint in one line, and the line of text it points at."""
    first = str(exc).strip().split("\n")[0]
    match = _LINE.search(first)
    lines = text.split("\n")
    if match and 0 < int(match[1]) <= len(lines):
        return f"{first}\n  line {match[1]}: {lines[int(match[1]) - 1].strip()}"
    return first


def parse(text: str, name: str) -> dict[str, object]:
    """Parse HCL text with python-hcl2's grammar into data with decoded strings (see
    `gen.fastparse.data`); a parse failure is an `OutputError`."""
    try:
        return fastparse.data(text)
    except Exception as exc:
        raise OutputError(
            f"{name}: the rendered HCL does not parse: {_parse_error(exc, text)}"
        ) from exc


def verify_files(
    module: Module, files: Mapping[str, str], only: Collection[str] | None = None
) -> None:
    """Raise `OutputError` unless every rendered `.tf` file parses and holds every value the
    model decided, at its address (`TemplateError` when template overrides were used).

    With `only`, just those files are parsed back (the pipeline skips files whose bytes on disk
    are already exactly the render); the header check still covers every file."""
    error = TemplateError if module.templates else OutputError
    docs: dict[str, Mapping[str, object]] = {}
    for name, decls in module.decls().items():
        if only is not None and name not in only:
            continue
        try:
            doc = docs[name] = parse(files[name], name)
        except OutputError as exc:
            raise error(f"{module.team.name}/{exc}{_overridden(module, name)}") from exc
        problems = check_decls(doc, decls)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise error(
                f"{module.team.name}/{name}: the rendered file lacks what the model "
                f"decided{_overridden(module, name)}:\n{listed}{more}"
            )
    for name, text in files.items():
        if not has_exact_header(text):
            raise error(f"{module.team.name}/{name}: missing the generated-file header")
    refused = module_rules(docs)
    if refused:
        name = refused[0].partition(":")[0]
        raise error(f"{module.team.name}/{refused[0]}{_overridden(module, name)}")


def module_rules(docs: Mapping[str, Mapping[str, object]]) -> list[str]:
    """What no generated module may hold, one line each (`<file>: <why>`), for the parsed
    files `docs` (file name -> data): the one rule set of `render`, `check` (on the files they
    parse back) and `validate` (on every generated file of a module). A module must not
    configure a provider (the caller's configuration does), nor define a resource twice."""
    problems: list[str] = []
    seen: set[str] = set()
    for name, doc in docs.items():
        if "provider" in doc:
            problems.append(f"{name}: a module must not configure a provider")
        for entry in doc.get("resource", []):  # type: ignore[attr-defined]
            for rtype, named in entry.items():
                for rname in named:
                    address = f"{rtype}.{rname}"
                    if address in seen:
                        problems.append(f"{name}: {address} is defined twice")
                    seen.add(address)
    return problems


# Which templates write which file (a job file's fragments live under job/).
_SOURCES = {
    "versions.tf": ("versions.tf.j2",),
    "variables.tf": ("variables.tf.j2",),
    "main.tf": ("main.tf.j2", "instances.tf.j2"),
    "outputs.tf": ("outputs.tf.j2",),
}


def _overridden(module: Module, name: str) -> str:
    """Which override templates wrote file `name`: where a reviewer looks first."""
    if not module.templates:
        return ""
    sources = _SOURCES.get(name, ("job.tf.j2", "job/"))
    used = [t for t in module.overrides if t.startswith((*sources, "macros.j2"))]
    listed = ", ".join(used) if used else "none of them writes this file"
    return f" (template overrides from {module.templates}: {listed})"


def verify_module_dir(folder: Path) -> list[str]:
    """Structure checks for a module already on disk; returns problems (empty when fine)."""
    problems: list[str] = []
    required = ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md")
    for name in required:
        if not (folder / name).is_file():
            problems.append(f"{folder}/{name}: missing")
    docs: dict[str, Mapping[str, object]] = {}
    for path in sorted(folder.glob("*.tf")):
        data = read_regular(path)  # links are never followed; FIFOs never block
        if data is None:
            continue  # not a regular file: `gen.write.inspect_module` names the odd ones
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # `gen.write.inspect_module` names it
        if not has_exact_header(text):
            continue  # hand-written files beside the module are the user's (gen.write owns this)
        try:
            docs[str(path)] = parse(text, str(path))
        except OutputError as exc:
            problems.append(str(exc))
    problems.extend(module_rules(docs))
    resources = {
        rtype
        for doc in docs.values()
        for entry in doc.get("resource", [])  # type: ignore[attr-defined]
        for rtype in entry
    }
    if "aws_ecs_cluster" not in resources and not problems:
        problems.append(f"{folder}: no aws_ecs_cluster resource")
    return problems
