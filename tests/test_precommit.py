"""The pre-commit hooks as an infrastructure repository meets them: `pre-commit try-repo` against
this checkout, in a temporary git repository holding a team's spec.

pre-commit installs a `language: python` hook by creating a virtualenv and running
`pip install .` on the checkout. To need no network, the test hands pip a wheelhouse made from the
distributions already installed here (ecsgen's dependencies and its build backend, repacked as
wheels), with `PIP_NO_INDEX=1` and the proxies pointed at a closed port so that any download
attempt fails at once instead of passing by chance.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def _closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions that `requirements` need, transitively (markers honoured)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(requirement.name)
        pending.extend(Requirement(r) for r in found[name].requires or [])
    return found


def _repack(dist: importlib.metadata.Distribution, folder: Path) -> Path:
    """A wheel holding exactly the installed files of `dist` (what pip unpacked from its wheel)."""
    info = next(
        f for f in dist.files or [] if f.name == "WHEEL" and f.parent.name.endswith(".dist-info")
    )
    tag = next(
        line.split(":", 1)[1].strip()
        for line in dist.locate_file(info).read_text().splitlines()
        if line.startswith("Tag:")
    )
    stem = info.parent.name.removesuffix(".dist-info")
    wheel = folder / f"{stem}-{tag}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or []:
            path = str(file)
            if (
                path.startswith("..")
                or "__pycache__" in path
                or file.name in ("RECORD", "INSTALLER")
            ):
                continue
            if file.name == "direct_url.json":
                continue
            data = Path(dist.locate_file(file)).read_bytes()
            archive.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            writer.writerow([path, f"sha256={digest.decode()}", len(data)])
        writer.writerow([f"{info.parent}/RECORD", "", ""])
        archive.writestr(f"{info.parent}/RECORD", record.getvalue())
    return wheel


@pytest.fixture(scope="module")
def offline_pip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for pre-commit: pip installs from a local wheelhouse only."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = project["project"]["dependencies"] + project["build-system"]["requires"]
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    for dist in _closure(needed).values():
        _repack(dist, wheelhouse)
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens, a download fails at once
    env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_CONSTRAINT": "",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )


def _try_repo(repo: Path, hook: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"]
    return _run(command, repo, env)


def test_pre_commit_hooks_render_then_check(tmp_path: Path, offline_pip: dict[str, str]) -> None:
    repo = tmp_path / "infra"
    (repo / "specs").mkdir(parents=True)
    for name in ("starter.py", "_defaults.py"):
        shutil.copy(EXAMPLES / name, repo / "specs" / name)
    # the hooks take the layout from the repository's settings (they pass no arguments)
    (repo / "pyproject.toml").write_text('[tool.ecsgen]\nspecs = ["specs"]\n', encoding="utf-8")
    assert _run(["git", "init", "-q"], repo, offline_pip).returncode == 0
    assert _run(["git", "add", "-A"], repo, offline_pip).returncode == 0
    assert _run(["git", "commit", "-qm", "specs"], repo, offline_pip).returncode == 0

    drift = _try_repo(repo, "ecsgen-check", offline_pip)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "+++ output/starter/main.tf (rendered)" in drift.stdout

    render = _try_repo(repo, "ecsgen-render", offline_pip)
    assert render.returncode == 0, render.stdout + render.stderr  # new files only
    committed = EXAMPLES.parent.parent / "output" / "starter"
    for path in sorted(committed.iterdir()):
        if path.suffix == ".tf":  # the header names the spec relative to the repository
            generated = (repo / "output" / "starter" / path.name).read_text(encoding="utf-8")
            wanted = path.read_text(encoding="utf-8").replace("examples/specs/", "specs/")
            assert generated == wanted, path.name

    assert _run(["git", "add", "-A"], repo, offline_pip).returncode == 0
    assert _run(["git", "commit", "-qm", "modules"], repo, offline_pip).returncode == 0
    for hook in ("ecsgen-check", "ecsgen-render"):
        clean = _try_repo(repo, hook, offline_pip)
        assert clean.returncode == 0, clean.stdout + clean.stderr

    main_tf = repo / "output" / "starter" / "main.tf"
    good = main_tf.read_text(encoding="utf-8")
    main_tf.write_text(good + "# edited by hand\n", encoding="utf-8")
    edited = _try_repo(repo, "ecsgen-check", offline_pip)
    assert edited.returncode == 1
    assert "-# edited by hand" in edited.stdout
    refused = _try_repo(repo, "ecsgen-render", offline_pip)  # a hand edit is not overwritten
    assert refused.returncode == 1, refused.stdout
    assert "output/starter/main.tf" in refused.stdout and "--force" in refused.stdout
    assert main_tf.read_text(encoding="utf-8") == good + "# edited by hand\n"

    main_tf.write_text(good, encoding="utf-8")
    spec = repo / "specs" / "starter.py"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("nodes=2", "nodes=3"), encoding="utf-8"
    )
    stale = _try_repo(repo, "ecsgen-check", offline_pip)
    assert stale.returncode == 1 and "nodes" in stale.stdout
    regenerated = _try_repo(repo, "ecsgen-render", offline_pip)
    assert regenerated.returncode == 1, (
        regenerated.stdout
    )  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in regenerated.stdout
    again = _try_repo(repo, "ecsgen-check", offline_pip)
    assert again.returncode == 0, again.stdout + again.stderr


def test_pre_commit_hooks_with_the_init_layout(tmp_path: Path, offline_pip: dict[str, str]) -> None:
    """`ecsgen init`'s repository: the hooks, with no args, take specs and out from its
    [tool.ecsgen] (teams/ and modules/, not the old specs/ default)."""
    repo = tmp_path / "infra"
    init = _run([sys.executable, "-m", "ecsgen", "init", str(repo)], tmp_path, offline_pip)
    assert init.returncode == 0, init.stderr
    assert _run(["git", "init", "-q"], repo, offline_pip).returncode == 0
    assert _run(["git", "add", "-A"], repo, offline_pip).returncode == 0
    assert _run(["git", "commit", "-qm", "init"], repo, offline_pip).returncode == 0

    render = _try_repo(repo, "ecsgen-render", offline_pip)
    assert render.returncode == 0, render.stdout + render.stderr
    assert (repo / "modules" / "example" / "main.tf").is_file()  # specs and out from settings
    assert not (repo / "output").exists()
    assert _run(["git", "add", "-A"], repo, offline_pip).returncode == 0
    assert _run(["git", "commit", "-qm", "modules"], repo, offline_pip).returncode == 0
    clean = _try_repo(repo, "ecsgen-check", offline_pip)
    assert clean.returncode == 0, clean.stdout + clean.stderr
