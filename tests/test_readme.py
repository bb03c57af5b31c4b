"""The root README as a newcomer follows it: every shell block marked `<!-- runnable -->` runs,
in order, in one shell in an empty folder (as a reader types them), with `ecsgen` from this
checkout and terraform installing the provider from the local mirror. Also: the README stays
short, its links resolve, and `.ci/run` runs the README's test command."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, Terraform

README = ROOT / "README.md"
MARKER = "<!-- runnable -->"
# At most a third of the README before issue 18 (6,706 words).
MAX_WORDS = 6706 // 3


def runnable_blocks(text: str) -> list[str]:
    """The bodies of the ```sh blocks right after a `<!-- runnable -->` line."""
    pattern = re.compile(rf"^{re.escape(MARKER)}\n```sh\n(.*?)^```$", re.S | re.M)
    return pattern.findall(text)


def test_the_marker_finds_exactly_the_marked_blocks() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = runnable_blocks(text)
    assert len(blocks) == text.count(MARKER) >= 2
    assert any("ecsgen init" in b for b in blocks)
    assert any("terraform -chdir=terraform validate" in b for b in blocks)


@pytest.mark.terraform
def test_the_runnable_blocks_pass(tmp_path: Path, terraform: Terraform, ecsgen_bin: Path) -> None:
    script = "set -euo pipefail\n" + "\n".join(runnable_blocks(README.read_text(encoding="utf-8")))
    env = {k: v for k, v in terraform.env().items() if k != "TF_CLI_CONFIG_FILE"}
    env |= {
        "PATH": f"{ecsgen_bin}{os.pathsep}{os.environ['PATH']}",
        "TF_PROVIDER_MIRROR": str(terraform.mirror),
        "HOME": str(tmp_path),  # nothing of the user's terraform configuration
    }
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "modules/ is up to date with the specs" in result.stderr
    assert "The configuration is valid." in result.stdout
    assert (tmp_path / "infra" / "terraform" / ".terraform").is_dir()


def test_the_readme_is_short_and_its_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.split()) <= MAX_WORDS, len(text.split())
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", text):
        assert (ROOT / target).is_file(), target
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]+)?\)", doc.read_text("utf-8")):
            assert (doc.parent / target).is_file(), (doc.name, target)


def test_ci_runs_the_readmes_test_command() -> None:
    text = README.read_text(encoding="utf-8")
    development = text.split("## Development", 1)[1]
    (command,) = re.findall(r"```sh\n(.*?)\n```", development, re.S)
    assert command.endswith("&& pytest")
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
