"""Resource addresses are a public contract: `tests/addresses.txt` pins every resource address
of the example modules. A new ecsgen version that renames one would make every team's next
apply destroy and recreate that resource (a log group with its logs, a run record), so a pinned
address that is gone fails here until `gen/model/moved.py` has a `moved` entry for it (rendered into
main.tf). `pytest --update-goldens` adds new addresses and drops moved ones; it never drops an
address that just disappeared: a resource removed on purpose is taken out of the list by hand,
in the same change, where a reviewer sees it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecsgen.impact import addresses, moved_blocks
from ecsgen.model.moved import Move
from ecsgen.pipeline import render_in_memory
from tests.conftest import EXAMPLES, ROOT

CONTRACT = ROOT / "tests" / "addresses.txt"
HEADER = (
    "# Every resource address of the example modules (team, address), a public contract: see\n"
    "# tests/test_addresses.py. A rename needs a moved entry in gen/model/moved.py.\n"
)


def _pinned() -> dict[str, set[str]]:
    pinned: dict[str, set[str]] = {}
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            team, address = line.split()
            pinned.setdefault(team, set()).add(address)
    return pinned


def _write(addresses: dict[str, set[str]]) -> None:
    lines = [f"{team} {a}" for team in sorted(addresses) for a in sorted(addresses[team])]
    CONTRACT.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, str]]:
    """The examples rendered by this code (not the committed output/: a template change fails
    here before the goldens are regenerated)."""
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return render_in_memory([EXAMPLES.relative_to(ROOT)])
    finally:
        os.chdir(cwd)


def contract_problems(
    pinned: dict[str, set[str]], rendered: dict[str, dict[str, str]]
) -> tuple[list[str], dict[str, set[str]]]:
    """What breaks the contract, and the list as it should read after the change."""
    problems: list[str] = []
    updated: dict[str, set[str]] = {}
    for team in sorted(set(pinned) | set(rendered)):
        files = rendered.get(team)
        if files is None:
            problems.append(f"{team}: an example team is gone; take it out of {CONTRACT.name}")
            continue
        now, moved = set(addresses(files, data=False)), moved_blocks(files)
        before = pinned.get(team, set())
        for address in sorted(before - now):
            target = moved.get(address)
            if target in now:
                continue
            problems.append(
                f"{team}: {address} is pinned but no longer rendered, and no moved block says "
                "where it went. Every team's next apply would destroy it and create the "
                "renamed one. Add a Move to gen/model/moved.py (it renders `moved {}` into main.tf); "
                f"if the resource is removed on purpose, take the line out of {CONTRACT.name}"
            )
        updated[team] = now
    return problems, updated


def test_resource_addresses_are_kept_or_moved(
    rendered: dict[str, dict[str, str]], update_goldens: bool
) -> None:
    problems, updated = contract_problems(_pinned(), rendered)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    if update_goldens:
        _write(updated)
        return
    new = [f"{t} {a}" for t in updated for a in sorted(updated[t] - _pinned().get(t, set()))]
    if new:
        pytest.fail(
            f"resource addresses not yet in {CONTRACT.name}: {', '.join(new)}; "
            "run `pytest --update-goldens` to pin them",
            pytrace=False,
        )


def test_a_rename_without_a_move_breaks_the_contract(rendered: dict[str, dict[str, str]]) -> None:
    """The check itself: a renamed label fails, and passes once a moved block is there."""
    files = dict(rendered["starter"])
    name = "job_ai_training.tf"
    files[name] = files[name].replace(
        'resource "aws_cloudwatch_log_group" "ai_training"',
        'resource "aws_cloudwatch_log_group" "ai_training_logs"',
    )
    problems, _ = contract_problems({"starter": _pinned()["starter"]}, {"starter": files})
    assert [p.split(" is pinned")[0] for p in problems] == [
        "starter: aws_cloudwatch_log_group.ai_training"
    ]
    files["main.tf"] += (
        "\nmoved {\n  from = aws_cloudwatch_log_group.ai_training\n"
        "  to   = aws_cloudwatch_log_group.ai_training_logs\n}\n"
    )
    assert contract_problems({"starter": _pinned()["starter"]}, {"starter": files})[0] == []


def test_the_contract_file_is_sorted_and_unique() -> None:
    lines = [x for x in CONTRACT.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    assert lines == sorted(set(lines)) and lines, Path(CONTRACT).name


def test_a_move_in_the_table_is_rendered_into_main_tf(
    monkeypatch: pytest.MonkeyPatch, chdir_root: Path
) -> None:
    import ecsgen.model.moved

    rename = Move(
        "0.0.1",
        "aws_cloudwatch_log_group.{job}_old",
        "aws_cloudwatch_log_group.{job}",
        "a test rename",
    )
    monkeypatch.setattr(ecsgen.model.moved, "MOVES", (rename,))
    files = render_in_memory([EXAMPLES.relative_to(chdir_root) / "llm.py"])["llm"]
    assert moved_blocks(files) == {
        "aws_cloudwatch_log_group.eval_old": "aws_cloudwatch_log_group.eval",
        "aws_cloudwatch_log_group.pretrain_old": "aws_cloudwatch_log_group.pretrain",
    }
    assert (
        "# ecsgen 0.0.1: a test rename\nmoved {\n  from = aws_cloudwatch_log_group.eval_old\n"
        "  to   = aws_cloudwatch_log_group.eval\n}\n"
    ) in files["main.tf"]
