"""Checking rendered output: parse every `.tf` file back with python-hcl2 and compare it, as data,
with the blocks the model intended. A mismatch means the renderer or the escaping is wrong."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from gen import fastparse
from gen.errors import OutputError
from gen.hcl import Block, Expr, Heredoc, decode
from gen.model import Module, Section
from gen.render import GENERATED_MARKERS

__all__ = ["expected_files", "parse", "verify_files", "verify_module_dir"]

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


def _body(block: Block) -> dict[str, object]:
    body: dict[str, object] = {}
    for key, value in (*block.meta, *block.attrs):
        body[key] = value
    for nested in block.blocks:
        entry: object = {nested.labels[0]: _body(nested)} if nested.labels else _body(nested)
        body.setdefault(nested.type, [])
        body[nested.type].append(entry)  # type: ignore[attr-defined]
    if block.tags is not None:
        body["tags"] = block.tags
    if block.depends_on:
        body["depends_on"] = [Expr(d) for d in block.depends_on]
    if block.lifecycle is not None:
        body["lifecycle"] = [_body(block.lifecycle)]
    return body


def _document(blocks: Sequence[Block]) -> dict[str, list[object]]:
    doc: dict[str, list[object]] = {}
    for block in blocks:
        entry: object = _body(block)
        for label in reversed(block.labels):
            entry = {label: entry}
        doc.setdefault(block.type, []).append(entry)
    return doc


def _blocks(sections: Sequence[Section]) -> list[Block]:
    return [b for s in sections for b in s.blocks]


def expected_files(module: Module) -> dict[str, dict[str, list[object]]]:
    """What each `.tf` file must contain, as python-hcl2 would see it after `decode`."""
    files = {
        "versions.tf": _document([module.versions]),
        "variables.tf": _document(_blocks(module.variables)),
        "main.tf": _document(_blocks(module.main)),
    }
    for job in module.jobs:
        files[job.file] = _document(_blocks(job.sections))
    files["outputs.tf"] = _document(_blocks(module.outputs))
    return files


def parse(text: str, name: str) -> dict[str, object]:
    """Parse HCL text and decode its strings; a parse failure is an `OutputError`."""
    try:
        parsed = fastparse.loads(text)
    except Exception as exc:
        raise OutputError(f"{name}: the rendered HCL does not parse: {exc}") from exc
    decoded = decode({k: v for k, v in parsed.items() if not k.startswith("__")})
    assert isinstance(decoded, dict)
    return decoded


def _first_difference(path: str, got: object, want: object) -> str:
    if isinstance(got, dict) and isinstance(want, dict):
        for key in sorted(set(got) | set(want)):
            if key not in got:
                return f"{path}.{key}: missing"
            if key not in want:
                return f"{path}.{key}: not intended"
            if got[key] != want[key]:
                return _first_difference(f"{path}.{key}", got[key], want[key])
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for index, (g, w) in enumerate(zip(got, want, strict=True)):
            if g != w:
                return _first_difference(f"{path}[{index}]", g, w)
    return f"{path}: parsed {got!r}, intended {want!r}"


def verify_files(
    module: Module, files: Mapping[str, str], only: Collection[str] | None = None
) -> None:
    """Raise `OutputError` unless every rendered `.tf` file parses back to the intended data.

    With `only`, just those files are parsed back (the pipeline skips files whose bytes on disk
    are already exactly the render); the header check still covers every file."""
    for name, want in expected_files(module).items():
        if only is not None and name not in only:
            continue
        got = _canon(parse(files[name], name))
        intended = _canon(want)
        if got != intended:
            raise OutputError(
                f"{module.team.name}/{name}: parsed back differently than "
                f"intended: {_first_difference(name, got, intended)}"
            )
    for name, text in files.items():
        if not text.startswith(GENERATED_MARKERS):
            raise OutputError(f"{module.team.name}/{name}: missing the generated-file header")


def verify_module_dir(folder: Path) -> list[str]:
    """Structure checks for a module already on disk; returns problems (empty when fine)."""
    problems: list[str] = []
    required = ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md")
    for name in required:
        if not (folder / name).is_file():
            problems.append(f"{folder}/{name}: missing")
    resources: set[str] = set()
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        if not text.startswith(GENERATED_MARKERS):
            problems.append(f"{path}: not generated by ecsgen (no header)")
            continue
        try:
            doc = parse(text, str(path))
        except OutputError as exc:
            problems.append(str(exc))
            continue
        if "provider" in doc:
            problems.append(f"{path}: a module must not configure a provider")
        for entry in doc.get("resource", []):  # type: ignore[attr-defined]
            for rtype, named in entry.items():
                for rname in named:
                    address = f"{rtype}.{rname}"
                    if address in resources:
                        problems.append(f"{path}: {address} is defined twice")
                    resources.add(address)
    if not any(a.startswith("aws_ecs_cluster.") for a in resources) and not problems:
        problems.append(f"{folder}: no aws_ecs_cluster resource")
    return problems
