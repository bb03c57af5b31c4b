"""The built wheel carries the templates: a non-editable install, imported from outside the
repository, renders the examples to exactly the committed output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ecsgen.write import MANIFEST_NAME
from tests.conftest import EXAMPLES, OUTPUT, ROOT


@pytest.mark.slow
def test_installed_wheel_renders_the_examples(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            "-q",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("ecsgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ecsgen/templates/job.tf.j2" in names and "ecsgen/py.typed" in names
    # every module and subpackage of the source folder gen/ is in the wheel, under the import
    # package's name (the folder where py.typed is), and nothing else claims a top-level name
    package = next(n for n in names if n.endswith("/py.typed")).split("/")[0]
    source = ROOT / "gen"
    for module in sorted(source.rglob("*.py")):
        assert f"{package}/{module.relative_to(source).as_posix()}" in names, module
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {package}, tops
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
            "-q",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work / "examples" / "specs")
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ecsgen, ecsgen.render as r; print(ecsgen.__file__); print(r.templates_dir())",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module_file, templates = probe.stdout.splitlines()
    assert Path(module_file).is_relative_to(target), module_file
    assert Path(templates).is_relative_to(target), templates
    result = subprocess.run(
        [sys.executable, "-c", "from ecsgen.cli import main; main()", "render", "examples/specs"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for team in sorted(p.name for p in OUTPUT.iterdir() if p.is_dir()):
        for path in sorted((OUTPUT / team).iterdir()):
            made = (work / "output" / team / path.name).read_bytes()
            if path.name == MANIFEST_NAME:  # `inputs` is a cache key that follows gen/'s bytes
                assert _record(made) == _record(path.read_bytes()), path
            else:
                assert made == path.read_bytes(), path


def _record(manifest: bytes) -> dict[str, object]:
    doc = json.loads(manifest)
    assert isinstance(doc, dict) and isinstance(doc.pop("inputs", None), str)
    return doc
