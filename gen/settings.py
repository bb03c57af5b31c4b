"""The repository settings, `[tool.ecsgen]` in the `pyproject.toml` nearest above the specs:
`templates = "DIR"` names a folder of template overrides (relative to that file), so that every
`ecsgen render` and `ecsgen check` in the repository uses it without `--templates`;
`spec-timeout = SECONDS` is the time one spec may take to load (`--spec-timeout`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gen.errors import SettingError

__all__ = ["KNOWN", "spec_timeout_setting", "templates_setting"]

KNOWN = ("spec-timeout", "templates")


def _nearest_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _section(pyproject: Path) -> dict[str, object] | None:
    """The `[tool.ecsgen]` table of `pyproject`, with only known settings; None without one."""
    import tomllib  # noqa: PLC0415 - only when the specs lie below a pyproject.toml

    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"{pyproject}: cannot read it: {exc}") from exc
    tool = config.get("tool", {})
    section = tool.get("ecsgen") if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict) or set(section) - set(KNOWN):
        unknown = sorted(set(section) - set(KNOWN)) if isinstance(section, dict) else section
        raise SettingError(
            f"{pyproject}: [tool.ecsgen]: unknown setting(s) {unknown}; allowed: {', '.join(KNOWN)}"
        )
    return section


def _setting(pyproject: Path) -> Path | None:
    section = _section(pyproject)
    if section is None:
        return None
    value = section.get("templates")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise SettingError(
            f"{pyproject}: [tool.ecsgen] templates: must be a folder path (a string), got {value!r}"
        )
    folder = pyproject.parent / value
    if not folder.is_dir():
        raise SettingError(
            f"{pyproject}: [tool.ecsgen] templates: {value!r} is not a folder "
            f"(relative to {pyproject.parent})"
        )
    return folder


def templates_setting(specs: Sequence[Path]) -> Path | None:
    """The override folder the specs' repository sets, or None. Specs whose nearest
    `pyproject.toml` files set different folders are an error: pass `--templates`."""
    found: dict[Path, Path | None] = {}
    for spec in specs:
        start = spec.resolve()
        pyproject = _nearest_pyproject(start if start.is_dir() else start.parent)
        if pyproject is not None and pyproject not in found:
            found[pyproject] = _setting(pyproject)
    folders = {folder for folder in found.values() if folder is not None}
    if len(folders) > 1:
        listed = ", ".join(sorted(str(p) for p, f in found.items() if f is not None))
        raise SettingError(
            f"the specs' pyproject.toml files set different [tool.ecsgen] templates ({listed}); "
            "render them separately or pass --templates"
        )
    if not folders:
        return None
    (folder,) = folders
    if any(f is None for f in found.values()):
        listed = ", ".join(sorted(str(p) for p, f in found.items() if f is None))
        raise SettingError(
            f"some specs' pyproject.toml files set [tool.ecsgen] templates and others "
            f"({listed}) do not; render them separately or pass --templates"
        )
    return folder


def spec_timeout_setting(specs: Sequence[Path]) -> float | None:
    """`spec-timeout` of the specs' repository (the smallest, if their pyproject.toml files
    differ), or None when none sets it."""
    found: list[float] = []
    for pyproject in {_nearest_pyproject(_folder(spec)) for spec in specs} - {None}:
        assert pyproject is not None
        value = (_section(pyproject) or {}).get("spec-timeout")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise SettingError(
                f"{pyproject}: [tool.ecsgen] spec-timeout: must be a number of seconds above 0, "
                f"got {value!r}"
            )
        found.append(float(value))
    return min(found) if found else None


def _folder(spec: Path) -> Path:
    start = spec.resolve()
    return start if start.is_dir() else start.parent
