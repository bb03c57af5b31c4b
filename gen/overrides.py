"""Checking a folder of template overrides before anything renders, so that a mistake in it is
one clear error (exit 2, file and line, "did you mean") at every `--jobs`, never a traceback and
never silently ignored.

The rule for what is in the folder:
- a file whose name ends in `.j2` is a template. Its path in the folder must be the path of a
  bundled template (`job/iam.tf.j2`), which it replaces; or its file name starts with `_`
  (`_org.j2`, `job/_tags.j2`): a helper of the organisation's own, which overrides may
  `{% import %}` or `{% include %}` and which replaces nothing;
- everything else (`README.md`, `.DS_Store`, notes) and every dot file or dot folder is not a
  template and is ignored;
- a template must be UTF-8 and compile; every `{% block %}` an override defines must be a block
  of the template it extends; every template it extends, includes or imports by name must exist.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

import jinja2
from jinja2 import nodes

from .errors import TemplateError

__all__ = ["check_overrides", "override_names"]


def override_names(folder: Path) -> Iterator[str]:
    """The templates in `folder` (`.j2` files, dot files and dot folders left out), as paths
    relative to it, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.endswith(".j2") and not name.startswith("."):
                found.append(Path(root, name).relative_to(folder).as_posix())
    return iter(sorted(found))


def _shown(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _near(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _blocks(env: jinja2.Environment, name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The blocks template `name` defines, with those of the templates it extends."""
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    tree = env.parse(source, name)
    found = {block.name for block in tree.find_all(nodes.Block)}
    for extends in tree.find_all(nodes.Extends):
        if isinstance(extends.template, nodes.Const) and extends.template.value not in seen:
            found |= _blocks(env, str(extends.template.value), seen | {name})
    return found


def _referenced(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    """Template names (constants) that `tree` extends, includes or imports, with their lines."""
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target = getattr(node, "template", None)
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            yield target.value, node.lineno


def check_overrides(env: jinja2.Environment, folder: Path, bundled: list[str]) -> None:
    """Raise `TemplateError` naming every problem of the override `folder` (see the module's
    rule); `env` is the environment that renders with it, `bundled` the bundled templates'
    names."""
    problems: list[str] = []
    known = set(bundled)
    reachable = known | {f"bundled/{name}" for name in bundled}
    names = list(override_names(folder))
    reachable |= set(names)
    for name in names:
        path = folder / name
        shown = _shown(path)
        own = Path(name).name.startswith("_")
        if name not in known and not own:
            problems.append(
                f"{shown}: matches no bundled template, so it would never be used"
                f"{_near(name, bundled)} (an override has the path of the template it replaces, "
                "such as job/iam.tf.j2; a helper of your own starts with `_`)"
            )
            continue
        try:
            source = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"{shown}: not UTF-8 text (byte offset {exc.start})")
            continue
        except OSError as exc:
            problems.append(f"{shown}: cannot read it: {exc.strerror}")
            continue
        try:
            tree = env.parse(source, name, str(path))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{shown}:{exc.lineno}: template syntax error: {exc.message}")
            continue
        for target, line in _referenced(tree):
            if target not in reachable:
                problems.append(
                    f"{shown}:{line}: no template {target!r}{_near(target, sorted(reachable))}"
                )
        parents = [t for t, _ in _referenced_extends(tree)]
        if len(parents) != 1 or parents[0] not in reachable:
            continue
        defined = _blocks(env, parents[0])
        for block in _outer_blocks(tree):
            if block.name not in defined:
                problems.append(
                    f"{shown}:{block.lineno}: {parents[0]} has no block {block.name!r}, so this "
                    f"block would never be used{_near(block.name, sorted(defined))}"
                    f" (its blocks: {', '.join(sorted(defined)) or 'none'})"
                )
    if problems:
        raise TemplateError("\n".join(problems) + "\nnothing was written")


def _referenced_extends(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    for node in tree.find_all(nodes.Extends):
        if isinstance(node.template, nodes.Const) and isinstance(node.template.value, str):
            yield node.template.value, node.lineno


def _outer_blocks(tree: nodes.Template) -> list[nodes.Block]:
    """The blocks of `tree` that are not inside another block (those inside an overriding block
    are new blocks of its own, rendered where it is)."""
    inner = {
        id(nested) for block in tree.find_all(nodes.Block) for nested in block.find_all(nodes.Block)
    }
    return [block for block in tree.find_all(nodes.Block) if id(block) not in inner]
