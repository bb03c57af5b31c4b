"""The real toolchain as the oracle: every committed module passes `terraform fmt -check` and
`terraform validate` with the real hashicorp/aws provider (from the local mirror)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import OUTPUT, ROOT, Terraform

MODULES = sorted(
    [p for p in OUTPUT.iterdir() if p.is_dir()]
    + [p / "expected" for p in (ROOT / "tests" / "cases").iterdir() if p.is_dir()]
)

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_check(terraform: Terraform, module: Path) -> None:
    result = terraform.run("fmt", "-check", "-diff", "-recursive", ".", cwd=module, timeout=60)
    assert result.returncode == 0, f"terraform fmt would change {module}:\n{result.stdout}"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_validate(terraform: Terraform, module: Path, tmp_path: Path) -> None:
    work = tmp_path / module.name
    shutil.copytree(module, work)
    terraform.ok("init", "-backend=false", "-input=false", cwd=work, timeout=120)
    result = terraform.run("validate", "-json", cwd=work, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout
    assert '"warning_count": 0' in result.stdout, f"warnings in {module}:\n{result.stdout}"
