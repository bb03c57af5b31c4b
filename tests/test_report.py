"""The JSON report is a contract: one schema (schema/report.schema.json) for `check` and
`validate`, a `format_version`, every key in every item, codes from one documented enum, no
item twice, and a valid document even when the command fails in ways of its own. (Every JSON
document the suite prints is also validated against the schema: tests/conftest.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from ecsgen import cli, pipeline
from ecsgen.cli import main
from ecsgen.report import CODES, FORMAT_VERSION
from tests.conftest import ROOT, SCHEMA

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="train", image="r/x:1", command=["python", "t.py"], nodes={nodes},
        compute=Fargate(cpu=256, memory=512)),
])
"""


def invoke(*args: str) -> tuple[int, dict[str, object], str]:
    before = cli._emit.count  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.stdout
    assert cli._emit.count == before + 1, "one report, validated against the schema"  # type: ignore[attr-defined]
    document = json.loads(result.stdout)
    assert document["exit_code"] == result.exit_code
    return result.exit_code, document, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    for team in ("alpha", "bravo"):
        (tmp_path / "specs" / f"{team}.py").write_text(SPEC.format(team=team, nodes=1))
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["render", "specs"]).exit_code == 0
    return tmp_path


def test_the_schema_is_a_schema_and_lists_every_code() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    item = schema["properties"]["items"]["items"]
    assert item["properties"]["code"]["enum"] == sorted(CODES)
    assert schema["properties"]["format_version"]["const"] == FORMAT_VERSION
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "schema/report.schema.json" in readme
    docs = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    for code in CODES:
        assert f"`{code}`" in docs, f"docs/ci.md does not document the code {code!r}"


def test_reports_of_every_kind(workdir: Path) -> None:
    seen: set[str] = set()
    code, doc, _ = invoke("check", "specs", "--format", "json")
    assert (code, doc["ok"], doc["items"]) == (0, True, [])
    code, doc, _ = invoke("validate", "output", "--format", "json")
    assert (code, doc["modules"]) == (0, 2)
    # drift of several kinds at once
    (workdir / "specs" / "alpha.py").write_text(SPEC.format(team="alpha", nodes=2))
    main_tf = workdir / "output" / "bravo" / "main.tf"
    main_tf.write_text(main_tf.read_text() + "# edited\n")
    (workdir / "output" / "bravo" / "outputs.tf").unlink()
    code, doc, _ = invoke("check", "specs", "--format", "json")
    seen |= {i["code"] for i in doc["items"]}  # type: ignore[index, union-attr]
    assert code == 1 and {"spec-changed", "edited", "missing"} <= seen
    code, doc, _ = invoke("validate", "output", "--format", "json")
    seen |= {i["code"] for i in doc["items"]}  # type: ignore[index, union-attr]
    assert code == 1 and "invalid" in seen
    # errors that stop the command
    (workdir / "specs" / "bravo.py").write_text(SPEC.format(team="bravo", nodes=0))
    code, doc, _ = invoke("check", "specs", "--format", "json")
    (item,) = doc["items"]  # type: ignore[misc]
    assert code == 2 and item["code"] == "spec-error" and item["line"] == 3
    (workdir / "specs" / "bravo.py").write_text(SPEC.format(team="bravo", nodes=1))
    (workdir / "tpl").mkdir()
    (workdir / "tpl" / "main.tf.j2").write_text("{% if %}\n")
    code, doc, _ = invoke("check", "specs", "--templates", "tpl", "--format", "json")
    (item,) = doc["items"]  # type: ignore[misc]
    assert code == 2 and item["code"] == "template-error"
    assert (item["path"], item["line"]) == ("tpl/main.tf.j2", 1)
    (workdir / "pyproject.toml").write_text("[tool.ecsgen]\nnope = 1\n")
    code, doc, _ = invoke("check", "specs", "--format", "json")
    assert code == 2 and [i["code"] for i in doc["items"]] == ["setting"]  # type: ignore[index, union-attr]
    assert seen <= set(CODES)


def test_a_bug_still_gives_a_report(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(pipeline, "check", broken)
    code, doc, err = invoke("check", "specs", "--format", "json")
    assert code == 2 and [i["code"] for i in doc["items"]] == ["internal"]  # type: ignore[index, union-attr]
    assert "internal error (please report): a bug" in err


def test_items_are_never_repeated(workdir: Path) -> None:
    """A broken override fails every team alike: one item, not one per team."""
    (workdir / "tpl").mkdir()
    (workdir / "tpl" / "outputs.tf.j2").write_text(
        '{% extends "bundled/outputs.tf.j2" %}{% block extra %}\n'
        "locals {\n  x = {{ module.team.name ~ '-x' }}\n}\n{% endblock %}\n"
    )
    code, doc, _ = invoke("check", "specs", "--templates", "tpl", "--format", "json", "--jobs", "2")
    items = doc["items"]
    assert code == 2 and isinstance(items, list) and items
    assert len({json.dumps(i, sort_keys=True) for i in items}) == len(items)
