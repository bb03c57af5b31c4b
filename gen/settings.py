"""The repository setting: `[tool.ecsgen] templates = "DIR"` in the `pyproject.toml` nearest
above the specs names a folder of template overrides (relative to that file), so that every
`ecsgen render` and `ecsgen check` in the repository uses it without `--templates`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gen.errors import SettingError

__all__ = ["templates_setting"]


def _nearest_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _setting(pyproject: Path) -> Path | None:
    import tomllib  # noqa: PLC0415 - only when the specs lie below a pyproject.toml

    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"{pyproject}: cannot read it: {exc}") from exc
    tool = config.get("tool", {})
    section = tool.get("ecsgen") if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict) or set(section) - {"templates"}:
        unknown = sorted(set(section) - {"templates"}) if isinstance(section, dict) else section
        raise SettingError(
            f"{pyproject}: [tool.ecsgen]: unknown setting(s) {unknown}; allowed: templates"
        )
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
