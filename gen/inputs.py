"""Each team's inputs digest: what a render of the team depends on, in one SHA-256.

A team folder's manifest records it (`"inputs"`), so that `check` and `render` can tell that a
team is up to date without rendering it: when the recorded value equals the current one, the
manifest names this generator version, nothing is pending and every listed file still has the
listed bytes, the render would produce exactly those files (see `gen.write.up_to_date`).

The digest covers (a) the generator: `__version__`, Jinja's version (the bytes of its
`__init__.py`, which states it: read, not imported, so that an up-to-date run never imports
Jinja) and the bytes of every `.py` file of the package (subpackages included) and of every
bundled template; (b) the template overrides folder in use: its label as headers name it and
each file's relative path and bytes; (c) the
spec label headers use; (d) the validated `TeamConfig`, encoded canonically (`canonical`),
without the machine-dependent spec path (`path`, `source`: the label in (c) stands for them).
It is the same in any working directory and for a checkout copied to another absolute path.
The value stored in the manifest also seals the manifest's own file list (`gen.write.seal`),
so a manifest edited by hand is never taken as a record of a render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import importlib.util
import json
import os
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from . import __version__
from .load import spec_label
from .validate import TeamConfig

__all__ = ["canonical", "context", "digest", "fingerprint"]

# Fields that depend on where the checkout lies; the spec label in the digest stands for them.
_EXCLUDED: Mapping[type, frozenset[str]] = {TeamConfig: frozenset({"path", "source"})}


def _files(root: Path) -> list[tuple[str, bytes]]:
    """Every regular file below `root` (links followed, as Jinja's loader does), sorted."""
    found = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted((p.relative_to(root).as_posix(), p.read_bytes()) for p in found)


def _update(hasher: hashlib._Hash, *parts: str | bytes) -> None:
    """Length-prefixed, so that no two sequences of parts hash alike."""
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)


def templates_dir() -> Path:
    """The bundled templates: inside the installed package, or the repository's top-level
    `templates/`. The renderer loads them from here (`gen.render` imports this, so the digest
    hashes exactly the folder rendered from, and an up-to-date run imports no Jinja)."""
    packaged = Path(str(resources.files(__package__))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"


def _jinja() -> bytes:
    """Jinja's `__init__.py`, which states its version (read without importing Jinja)."""
    found = importlib.util.find_spec("jinja2")
    if found is not None and found.origin is not None:
        with contextlib.suppress(OSError):
            return Path(found.origin).read_bytes()
    import jinja2  # noqa: PLC0415 - not a plain file (in a zip?): ask Jinja itself

    return jinja2.__version__.encode("utf-8")


@cache
def fingerprint() -> str:
    """The generator: version, Jinja's version, the package's `.py` files and the bundled
    templates (once a process)."""
    hasher = hashlib.sha256()
    _update(hasher, "ecsgen", __version__, "jinja2", _jinja())
    package = Path(__file__).resolve().parent
    sources = (p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    for name, data in sorted((p.relative_to(package).as_posix(), p.read_bytes()) for p in sources):
        _update(hasher, "gen/" + name, data)
    for name, data in _files(templates_dir()):
        _update(hasher, "templates/" + name, data)
    return hasher.hexdigest()


def _plain_fields(kind: type) -> tuple[str, ...] | None:
    """The field names `_encode` writes for instances of exactly `kind` when it is a plain
    dataclass (not also a str, number or enum, which `_encode` takes as those), else None."""
    if kind not in _FIELDS:
        plain = dataclasses.is_dataclass(kind) and not issubclass(
            kind, (bool, str, int, float, enum.Enum)
        )
        skip = _EXCLUDED.get(kind, frozenset())
        _FIELDS[kind] = (
            tuple(f.name for f in dataclasses.fields(kind) if f.name not in skip) if plain else None
        )
    return _FIELDS[kind]


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _encode(value: object) -> object:
    kind = type(value)
    # The common exact types first (the result is the one the general rules below give them).
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if kind is tuple or kind is list:
        return [_encode(item) for item in value]  # type: ignore[attr-defined]
    names = _plain_fields(kind)
    if names is not None:
        fields = [[name, _encode(getattr(value, name))] for name in names]
        return {"dataclass": kind.__qualname__, "fields": fields}
    return _encode_other(value)


def _encode_other(value: object) -> object:
    """Everything but the exact common types and plain dataclasses, which `_encode` takes."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if type(value) is int else {"int": type(value).__qualname__, "v": int(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, enum.Enum):
        return {"enum": type(value).__qualname__, "v": _encode(value.value)}
    if isinstance(value, (tuple, list)):
        return [_encode(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return {"set": sorted((_encode(item) for item in value), key=_dump)}
    if isinstance(value, Mapping):
        pairs = [[_encode(k), _encode(v)] for k, v in value.items()]
        return {"map": sorted(pairs, key=_dump)}
    raise TypeError(
        f"cannot encode a {type(value).__module__}.{type(value).__qualname__} in a team's inputs "
        "digest; teach gen.inputs.canonical this type (never by its address)"
    )


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def canonical(value: object) -> str:
    """A deterministic text for a validated configuration: dataclasses by field in order,
    sequences in order, mappings and sets sorted, floats by `repr`, enums by value. An unknown
    type raises `TypeError`."""
    return _dump(_encode(value))


def _override_label(folder: Path, anchor: Path) -> str:
    return Path(os.path.relpath(folder.resolve(), anchor.resolve())).as_posix()


def context(anchor: Path, templates: Path | None) -> str:
    """What every team of one run shares: the generator fingerprint and the override folder
    (its label relative to `anchor`, and each file's path and bytes, read now)."""
    hasher = hashlib.sha256()
    _update(hasher, "generator", fingerprint())
    if templates is None:
        _update(hasher, "no overrides")
    else:
        _update(hasher, "overrides", _override_label(templates, anchor))
        for name, data in _files(templates.resolve()):
            _update(hasher, name, data)
    return hasher.hexdigest()


def digest(team: TeamConfig, anchor: Path, shared: str) -> str:
    """The inputs digest of one team rendered with headers relative to `anchor`; `shared` is
    the run's `context`."""
    hasher = hashlib.sha256()
    _update(hasher, "context", shared)
    _update(hasher, "spec", spec_label(team.path, anchor))
    _update(hasher, "team", canonical(team))
    return hasher.hexdigest()
