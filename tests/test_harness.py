"""The test harness itself: a missing toolchain skips on a developer machine and fails in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import find_provider_mirror, unavailable


def test_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="terraform is not on the PATH"):
        unavailable("terraform is not on the PATH")


def test_missing_tool_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but terraform is not on the PATH"):
        unavailable("terraform is not on the PATH")


def test_provider_mirror_from_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ECSGEN_TF_PROVIDER_MIRROR", str(tmp_path))
    assert find_provider_mirror() is None  # not a mirror: nothing under registry.terraform.io
    (tmp_path / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    assert find_provider_mirror() == tmp_path
