"""The diff and summaries as people read them: why each file differs, manifests left out,
colour on a terminal, a footer that counts teams and files.

`file_diffs` builds a team's text (plain; the pipeline runs it in the worker processes).
`paint` colours finished text for a terminal, and `use_color` decides whether to: `--color
always|never`, or with `auto` (the default) only when the stream is a terminal and `NO_COLOR`
is unset or empty (https://no-color.org: a command-line flag may still ask for colour).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from .write import MANIFEST_NAME, TeamPlan
from .write.plan import unified_diff

if TYPE_CHECKING:
    from .errors import Finding
    from .impact import Impact

__all__ = [
    "COLORS",
    "file_diffs",
    "footer",
    "impact_report",
    "paint",
    "team_old_files",
    "use_color",
]

COLORS = ("auto", "always", "never")
RESET = "\x1b[0m"
_STYLES = (  # first match wins: (line pattern, SGR code)
    (re.compile(r"^(---|\+\+\+) "), "1"),  # file names: bold
    (re.compile(r"^@@ "), "36"),  # hunk ranges: cyan
    (re.compile(r"^#"), "33"),  # why a file differs: yellow
    (re.compile(r"^ *-/\+ "), "35"),  # replaced: magenta
    (re.compile(r"^ *\+"), "32"),  # added: green
    (re.compile(r"^ *-"), "31"),  # removed: red
    (re.compile(r"^ *~ "), "33"),  # changed in place: yellow
    (re.compile(r"^ *warning: "), "1;31"),  # data lost: bold red
)


def use_color(choice: str, stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to `stream`."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def paint(text: str) -> str:
    """`text` with each diff or summary line coloured by its first characters."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        end = line[len(body) :]
        for pattern, code in _STYLES:
            if pattern.match(body):
                body = f"\x1b[{code}m{body}{RESET}"
                break
        out.append(body + end)
    return "".join(out)


def team_old_files(plan: TeamPlan) -> dict[str, str]:
    """A team's module as it is on disk, rebuilt from its plan: the files the render changes
    or removes with their bytes on disk, the others as rendered (their bytes are the same);
    files missing on disk are left out; manifests are not part of a module."""
    old: dict[str, str] = {}
    for name, text in plan.files.items():
        if name == MANIFEST_NAME:
            continue
        if name in plan.old:
            old[name] = plan.old[name].decode("utf-8", errors="replace")
        elif name not in plan.write:
            old[name] = text
    for name in plan.remove:
        if name in plan.old:
            old[name] = plan.old[name].decode("utf-8", errors="replace")
    return old


def file_diffs(plan: TeamPlan, findings: Iterable[Finding]) -> list[str]:
    """Unified diffs (disk -> render) of every changed, missing, stale or hand-edited file of
    one team, each after a `# path: why` line; interrupted renders as a line each. The manifest
    is left out (its hashes change with every file; `footer` counts it)."""
    from .load import display_path  # noqa: PLC0415

    why = {f.path: f.detail for f in findings}
    texts = [f"# {line}; run `ecsgen render` to finish it\n" for line in plan.pending]
    texts.extend(  # edited files neither rewritten nor removed (the render no longer makes them)
        f"# {display_path(plan.folder / name)}: edited by hand since ecsgen wrote it\n"
        for name in plan.edited
        if name not in plan.write and name not in plan.remove
    )
    texts.extend(
        f"# {display_path(plan.folder / name)}: has ecsgen's header but the render no longer "
        "makes it; delete it (Terraform still reads it)\n"
        for name in plan.stale
    )
    for name in plan.write:
        if name == MANIFEST_NAME:
            continue
        path = display_path(plan.folder / name)
        old = plan.old.get(name)
        shown = old.decode("utf-8", errors="replace") if old is not None else ""
        source = f"{path} (on disk)" if old is not None else "/dev/null"
        texts.append(f"# {path}: {why.get(path, 'differs from the render')}\n")
        texts.append(unified_diff(shown, plan.files[name], source, f"{path} (rendered)"))
    for name in plan.remove:
        path = display_path(plan.folder / name)
        old_text = plan.old[name].decode("utf-8", errors="replace")
        edited = " (edited by hand since ecsgen wrote it)" if name in plan.edited else ""
        texts.append(f"# {path}: no longer generated{edited}\n")
        texts.append(
            unified_diff(old_text, "", f"{path} (on disk)", "/dev/null (no longer generated)")
        )
    return texts


def footer(findings: Sequence[Finding]) -> str:
    """`2 teams, 5 files differ (2 manifests not shown)`: what a drift touches."""
    teams = {f.team for f in findings}
    files = {f.path for f in findings if not f.path.endswith(MANIFEST_NAME)}
    # every team whose files change gets a new manifest, shown or not
    manifests = {f.team for f in findings if f.reason not in ("interrupted", "not-generated")}
    text = (
        f"{len(teams)} team{'s' if len(teams) != 1 else ''}, "
        f"{len(files)} file{'s' if len(files) != 1 else ''} differ"
    )
    if manifests:
        text += f" ({len(manifests)} manifest{'s' if len(manifests) != 1 else ''} not shown)"
    return text


def impact_report(impacts: Sequence[Impact]) -> str:
    """Each changed team's summary, then the fleet's total line (empty when nothing changes)."""
    from .impact import summary_lines, total, total_line  # noqa: PLC0415

    shown = [i for i in impacts if not i.empty() or i.warnings or i.notes]
    if not shown:
        return ""
    lines = [line for impact in shown for line in summary_lines(impact)]
    lines.append(total_line(total(shown)))
    return "\n".join(lines) + "\n"
