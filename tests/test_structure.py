"""The package's structure: imports run one way (no circles), modules stay readable, and the
development map names a model module and a validation for every template.

The import graph is read from the source (every `import` and `from ... import`, at module
level, inside functions and under `TYPE_CHECKING`), not from what Python happens to load, so a
circle hidden behind a late import is still a circle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gen"
MAP = ROOT / "docs" / "development.md"
MAX_LINES = 500
# Modules allowed over MAX_LINES, each with the reason. Keep this empty: a module that grows past
# the limit is split by concern, as gen/model/ and gen/validate/ are.
OVER_LIMIT: dict[str, str] = {}


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: Path) -> dict[str, Path]:
    found = [p for p in package.rglob("*.py") if "__pycache__" not in p.parts]
    return {_module_name(p, package): p for p in sorted(found)}


def _imported(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(module, names taken from it) for one import statement; relative imports resolved."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            if not is_package:
                anchor = anchor[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        return [(base, [alias.name for alias in node.names])]
    return []


def import_graph(package: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports (`from a import b` counts as importing `a.b`
    when `a.b` is a module, else `a`)."""
    modules = _modules(package)
    root = package.name
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            for target, names in _imported(node, name, path.name == "__init__.py"):
                if target != root and not target.startswith(root + "."):
                    continue
                # `from a import b` imports the module a.b when b is one; any other name
                # comes from a itself (its __init__, for a package).
                targets = {f"{target}.{n}" for n in names if f"{target}.{n}" in modules}
                if len(targets) < len(names) or not names:
                    targets.add(target)
                for found in targets:
                    module = found
                    while module not in modules and "." in module:
                        module = module.rsplit(".", 1)[0]
                    if module in modules and module != name:
                        graph[name].add(module)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circles_in_the_package() -> None:
    graph = import_graph(PACKAGE)
    # Not vacuous: the package's own (relative) imports are read, e.g. the assembly's.
    assert {"gen.model.decl", "gen.model.job", "gen.validate"} <= graph["gen.model.module"]
    found = circles(graph)
    described = [" -> ".join(c) for c in found]
    assert not found, f"import circles in gen/: {described}"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_circle_check_finds_a_back_import(tmp_path: Path) -> None:
    """The check is not vacuous: a late back-import (inside a function), a `TYPE_CHECKING` one and
    a package that imports its own parent's face are each found."""
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.model import build\n",
            "pkg/model/__init__.py": "from pkg.model.module import build\n",
            "pkg/model/decl.py": "X = 1\n",
            "pkg/model/module.py": "from pkg.model.decl import X\n\ndef build():\n    return X\n",
            "pkg/model/job/__init__.py": "",
            "pkg/model/job/iam.py": "from pkg.model import decl\n",
            "pkg/other.py": "def f():\n    from pkg.late import g\n    return g\n",
            "pkg/late.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.other import f\n",
        },
    )
    graph = import_graph(package)
    assert "pkg.model.decl" in graph["pkg.model.job.iam"]  # `from pkg.model import decl`
    assert circles(graph) == [["pkg.late", "pkg.other"]]
    # The package's face imported from below it: module -> package -> module.
    (package / "model" / "decl.py").write_text("from pkg.model import build\n")
    assert ["pkg.model", "pkg.model.decl", "pkg.model.module"] in circles(import_graph(package))
    # Relative imports resolve the same way (the package imports itself relatively).
    (package / "model" / "decl.py").write_text("from . import build\n")
    assert ["pkg.model", "pkg.model.decl", "pkg.model.module"] in circles(import_graph(package))
    (package / "model" / "job" / "iam.py").write_text("from ...other import f\n")
    assert "pkg.other" in import_graph(package)["pkg.model.job.iam"]


def test_modules_stay_readable() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in _modules(PACKAGE).values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    long = {name: lines for name, lines in long.items() if name not in OVER_LIMIT}
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def _map_rows() -> list[list[str]]:
    rows = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `templates/"):
            rows.append(cells)
    return rows


def test_every_template_is_in_the_development_map() -> None:
    mapped = {row[0].strip("`") for row in _map_rows()}
    templates = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.j2") if p.is_file()
    }
    assert templates - mapped == set(), "templates missing from docs/development.md's map"
    assert mapped - templates == set(), "the map names templates that do not exist"


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


@pytest.mark.parametrize("row", _map_rows(), ids=lambda row: row[0].strip("`"))
def test_map_names_modules_and_functions_that_exist(row: list[str]) -> None:
    template, model, validation = row[0], row[1], row[2]
    model_path = ROOT / model.strip("`")
    assert model_path.is_file(), f"{template}: model module {model} does not exist"
    for ref in re.findall(r"`([^`]+\.py):(\w+)`", validation):
        path, function = ROOT / ref[0], ref[1]
        assert path.is_file(), f"{template}: {ref[0]} does not exist"
        assert function in _defined(path), f"{template}: {ref[0]} defines no {function}"
    if validation != "none":
        assert re.search(r"`gen/validate/\w+\.py:\w+`", validation), (
            f"{template}: name the validation as `gen/validate/<module>.py:<function>`"
        )


def test_model_modules_are_named_like_their_templates() -> None:
    """A concern's model module carries its template's name (`job/capacity.tf.j2` ->
    `job/capacity.py`), except the few the map says otherwise (main.tf.j2 -> main.py)."""
    for row in _map_rows():
        template = row[0].strip("`").removeprefix("templates/")
        model = row[1].strip("`").removeprefix("gen/model/")
        stem = template.split(".", 1)[0].lower()
        expected = {f"{stem}.py", f"{stem}/__init__.py"}
        if stem == "macros":
            continue  # shared shapes: the primitives in decl.py
        assert model in expected, f"{template} is decided in {model}; expected one of {expected}"
