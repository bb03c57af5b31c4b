"""Repository settings: `[tool.ecsgen]` in the nearest `pyproject.toml`.

Every option of `render`, `check` and `validate` can be written there once (`SETTINGS` lists
them), so that the commands need no arguments from anywhere inside the repository:

    [tool.ecsgen]
    specs = ["teams"]         # spec files or folders (the SPECS argument)
    out = "output"            # --out, and the default DIRS of `validate`
    templates = "platform/ecsgen-templates"
    jobs = 2
    wait = 60
    format = "text"           # --format of check and validate
    spec-timeout = 60         # seconds one spec may take to load (--spec-timeout)

Paths are relative to the folder of that `pyproject.toml`, so every command reads and writes
the same tree whichever folder it runs in. A value on the command line wins over the setting.
`--force` has no setting on purpose: a setting that always discards hand edits would remove the
protection it overrides.

The command line reads the `pyproject.toml` nearest above the working directory
(`defaults_for`); the library (`templates_setting`) reads the one nearest above the specs, for
callers that pass specs but no templates folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SettingError
from .load import display_path

__all__ = [
    "SETTINGS",
    "Settings",
    "defaults_for",
    "find_pyproject",
    "read_settings",
    "spec_timeout_setting",
    "templates_setting",
]


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of `[tool.ecsgen]`: what it holds and which command parameters it sets."""

    kind: str  # "paths", "path", "folder", "int", "number", "seconds" (> 0), or "choice"
    params: Mapping[str, str]  # command name -> Click parameter name
    choices: tuple[str, ...] = ()
    minimum: float = 0


SETTINGS: dict[str, Setting] = {
    "specs": Setting("paths", {"render": "specs", "check": "specs"}),
    "out": Setting("path", {"render": "out", "check": "out", "validate": "dirs"}),
    "templates": Setting("folder", {"render": "templates", "check": "templates"}),
    "jobs": Setting("int", {"render": "jobs", "check": "jobs", "validate": "jobs"}, minimum=1),
    "wait": Setting("number", {"render": "wait"}),
    "format": Setting("choice", {"check": "fmt", "validate": "fmt"}, ("text", "json")),
    "spec-timeout": Setting("seconds", {"render": "spec_timeout", "check": "spec_timeout"}),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """The `[tool.ecsgen]` values of one `pyproject.toml`, paths made absolute."""

    pyproject: Path
    values: Mapping[str, object]


def find_pyproject(start: Path) -> Path | None:
    """The `pyproject.toml` in `start` or the nearest folder above it."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _where(pyproject: Path, key: str | None = None) -> str:
    section = "[tool.ecsgen]" if key is None else f"[tool.ecsgen] {key}"
    return f"{display_path(pyproject)}: {section}"


def _path(pyproject: Path, key: str, value: object, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise SettingError(f"{_where(pyproject, key)}: must be {what} (a string), got {value!r}")
    return pyproject.parent / value


def _check(pyproject: Path, key: str, value: object) -> object:
    """The value of one setting, paths made absolute; a `SettingError` when it is wrong."""
    setting = SETTINGS[key]
    where = _where(pyproject, key)
    if setting.kind == "paths":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise SettingError(
                f"{where}: must be a spec file or folder, or a list of them, got {value!r}"
            )
        paths = [_path(pyproject, key, item, "a spec file or folder") for item in items]
        for item, path in zip(items, paths, strict=True):
            if not path.exists():
                raise SettingError(
                    f"{where}: {item!r} does not exist "
                    f"(relative to {display_path(pyproject.parent)}/)"
                )
        return paths
    if setting.kind in ("path", "folder"):
        path = _path(pyproject, key, value, "a folder path")
        if setting.kind == "folder" and not path.is_dir():
            raise SettingError(
                f"{where}: {value!r} is not a folder "
                f"(relative to {display_path(pyproject.parent)}/)"
            )
        return path
    if setting.kind == "choice":
        if value not in setting.choices:
            raise SettingError(
                f"{where}: must be one of {', '.join(setting.choices)}, got {value!r}"
            )
        return value
    if setting.kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise SettingError(f"{where}: must be a number of seconds above 0, got {value!r}")
        return float(value)
    whole = setting.kind == "int"
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        kind = "a whole number" if whole else "a number"
        raise SettingError(f"{where}: must be {kind}, got {value!r}")
    if value < setting.minimum:
        raise SettingError(f"{where}: must be at least {setting.minimum:g}, got {value!r}")
    return value


def read_settings(pyproject: Path) -> Settings | None:
    """The `[tool.ecsgen]` section of `pyproject`, checked; None when it has none."""
    import tomllib  # noqa: PLC0415 - only when there is a pyproject.toml

    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"{display_path(pyproject)}: cannot read it: {exc}") from exc
    tool = config.get("tool", {})
    section = tool.get("ecsgen") if isinstance(tool, dict) else None
    if section is None:
        return None
    allowed = ", ".join(SETTINGS)
    if not isinstance(section, dict):
        raise SettingError(f"{_where(pyproject)}: must be a table of settings; allowed: {allowed}")
    unknown = sorted(set(section) - set(SETTINGS))
    if unknown:
        raise SettingError(f"{_where(pyproject)}: unknown setting(s) {unknown}; allowed: {allowed}")
    values = {key: _check(pyproject, key, section[key]) for key in SETTINGS if key in section}
    return Settings(pyproject, values)


def _relative(path: Path, cwd: Path) -> Path:
    """`path` as the command line would write it from `cwd` (so messages and hints work there)."""
    return Path(os.path.relpath(path, cwd))


def defaults_for(command: str, cwd: Path) -> dict[str, object]:
    """Click's `default_map` entries of `command` from the settings nearest above `cwd`:
    parameter name -> value, paths relative to `cwd`."""
    pyproject = find_pyproject(cwd)
    settings = read_settings(pyproject) if pyproject is not None else None
    if settings is None:
        return {}
    found: dict[str, object] = {}
    for key, value in settings.values.items():
        param = SETTINGS[key].params.get(command)
        if param is None:
            continue
        if isinstance(value, list):
            found[param] = tuple(_relative(p, cwd) for p in value)
        elif isinstance(value, Path):
            relative = _relative(value, cwd)
            found[param] = (relative,) if param == "dirs" else relative
        else:
            found[param] = value
    return found


def _specs_settings(specs: Sequence[Path]) -> dict[Path, Settings | None]:
    """The settings of the `pyproject.toml` nearest above each spec (or specs folder), each file
    read once: pyproject.toml -> its `[tool.ecsgen]` values (None without a section)."""
    found: dict[Path, Settings | None] = {}
    for spec in specs:
        start = spec.resolve()
        pyproject = find_pyproject(start if start.is_dir() else start.parent)
        if pyproject is not None and pyproject not in found:
            found[pyproject] = read_settings(pyproject)
    return found


def templates_setting(specs: Sequence[Path]) -> Path | None:
    """The override folder the specs' repository sets, or None. Specs whose nearest
    `pyproject.toml` files set different folders are an error: pass `--templates`."""
    found: dict[Path, Path | None] = {}
    for pyproject, settings in _specs_settings(specs).items():
        value = settings.values.get("templates") if settings is not None else None
        found[pyproject] = value if isinstance(value, Path) else None
    folders = {folder for folder in found.values() if folder is not None}
    shown: Callable[[Path], str] = display_path
    if len(folders) > 1:
        listed = ", ".join(sorted(shown(p) for p, f in found.items() if f is not None))
        raise SettingError(
            f"the specs' pyproject.toml files set different [tool.ecsgen] templates ({listed}); "
            "render them separately or pass --templates"
        )
    if not folders:
        return None
    (folder,) = folders
    if any(f is None for f in found.values()):
        listed = ", ".join(sorted(shown(p) for p, f in found.items() if f is None))
        raise SettingError(
            f"some specs' pyproject.toml files set [tool.ecsgen] templates and others "
            f"({listed}) do not; render them separately or pass --templates"
        )
    return folder


def spec_timeout_setting(specs: Sequence[Path]) -> float | None:
    """`spec-timeout` of the specs' repository (the smallest, if their pyproject.toml files
    differ), or None when none sets it."""
    found = [
        value
        for settings in _specs_settings(specs).values()
        if settings is not None and isinstance(value := settings.values.get("spec-timeout"), float)
    ]
    return min(found) if found else None
