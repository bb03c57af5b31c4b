"""The JSON report of `check` and `validate` (`--format json`): one versioned document, the same
shape for both commands, described by `schema/report.schema.json` (in the repository and the
wheel). Every item has every key (`null` where not known), a `code` from `CODES`, and no item
appears twice. A change that could break a reader raises `FORMAT_VERSION`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .errors import (
    EcsgenError,
    Finding,
    LockError,
    OutputError,
    OutputWriteError,
    ParseBackError,
    SettingError,
    SpecError,
    TemplateError,
    UnreadableOutputError,
    WorkerError,
    WriteConflictError,
)

__all__ = ["CODES", "FORMAT_VERSION", "document", "error_items", "finding_items", "item"]

FORMAT_VERSION = 1

# Every `code` an item can have, and what it means (the schema's enum; README lists them).
CODES = {
    "missing": "a file the render makes is not on disk",
    "spec-changed": "a file differs from the render and still has the bytes ecsgen wrote: the "
    "spec, the templates or the settings changed",
    "edited": "a generated file was edited by hand since ecsgen wrote it",
    "differs": "a file differs from the render and no manifest records what ecsgen wrote",
    "other-version": "a file was written by another ecsgen version",
    "manifest": "the team's .ecsgen-manifest.json is missing or out of date",
    "stale": "a file with ecsgen's header that the render no longer makes",
    "orphaned": "a module that no given spec produces any more (removed or renamed team)",
    "interrupted": "a render was interrupted half-way in this folder",
    "not-generated": "a file ecsgen did not write is where it would write",
    "invalid": "a module on disk fails a check (parse, structure, a refused block)",
    "unreadable": "a file of a module cannot be read as UTF-8 text",
    "spec-error": "a spec is wrong (file, line and field given)",
    "spec-timeout": "a spec took longer to load than the spec time limit",
    "template-error": "a template or template override is wrong (file and line given)",
    "parse-back": "a render does not parse back to what the model decided",
    "setting": "the [tool.ecsgen] setting is wrong",
    "lock": "another render holds the output folder's lock",
    "write-error": "the output folder cannot be read or written",
    "worker-died": "a worker process died (signal, out of memory)",
    "internal": "an error in ecsgen itself (please report it)",
}

_FINDING_CODES = {"differs": "differs", "parse-back": "parse-back"}
_PLACE = re.compile(r"(?P<path>[^\s:]+):(?P<line>[0-9]+): ")


def item(
    code: str,
    message: str,
    team: str | None = None,
    path: str | None = None,
    line: int | None = None,
    field: str | None = None,
) -> dict[str, object]:
    assert code in CODES, code
    return {
        "code": code,
        "message": message,
        "team": team,
        "path": path,
        "line": line,
        "field": field or None,
    }


def finding_items(findings: Iterable[Finding]) -> list[dict[str, object]]:
    return [
        item(_FINDING_CODES.get(f.reason, f.reason), f.detail, f.team, f.path) for f in findings
    ]


def _placed(code: str, text: str) -> list[dict[str, object]]:
    """One item per line of `text`, with the `path:line:` it starts with, if any."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line == "nothing was written":
            continue
        found = _PLACE.match(line)
        if found:
            out.append(item(code, line, path=found["path"], line=int(found["line"])))
        else:
            out.append(item(code, line))
    return out


def error_items(exc: EcsgenError) -> list[dict[str, object]]:
    """The items of an error that stopped the command."""
    if isinstance(exc, SpecError):
        return [item(p.code, p.message, p.team, p.file, p.line, p.path) for p in exc.problems]
    if isinstance(exc, TemplateError):
        return _placed("template-error", str(exc))
    if isinstance(exc, ParseBackError):
        return finding_items(exc.findings) or [item("parse-back", str(exc))]
    if isinstance(exc, OutputError):
        return finding_items(exc.findings) or [item("invalid", str(exc))]
    codes: Sequence[tuple[type[EcsgenError], str]] = (
        (UnreadableOutputError, "unreadable"),
        (WriteConflictError, "not-generated"),
        (LockError, "lock"),
        (OutputWriteError, "write-error"),
        (SettingError, "setting"),
        (WorkerError, "worker-died"),
    )
    code = next((c for kind, c in codes if isinstance(exc, kind)), "internal")
    return [item(code, line) for line in str(exc).splitlines() if line.strip()]


def document(
    command: str,
    exit_code: int,
    items: Iterable[dict[str, object]],
    modules: int | None = None,
    impact: dict[str, object] | None = None,
) -> dict[str, object]:
    """The report: `ok` is `exit_code == 0`; items in order, each once; `impact` what each
    changed team's next apply does (`check`; `gen.impact`), else None."""
    unique = list({tuple(i.items()): i for i in items}.values())
    return {
        "format_version": FORMAT_VERSION,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "modules": modules,
        "items": unique,
        "impact": impact,
    }
