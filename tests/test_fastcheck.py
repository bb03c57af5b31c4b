"""Teams whose inputs are provably unchanged are not rendered (the manifest's inputs digest);
every other case takes the full render and gives the same result as before."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from ecsgen import inputs, pipeline, render
from ecsgen.cli import main
from ecsgen.isolate import load_and_validate
from ecsgen.model import Module
from ecsgen.write import JOURNAL_NAME, MANIFEST_NAME, STAGING_NAME, seal
from tests.test_fleet import tree, write_spec

TEAMS = ("alpha", "bravo", "charlie")


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three teams, rendered once."""
    specs = tmp_path / "specs"
    specs.mkdir()
    for team in TEAMS:
        write_spec(specs, team)
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    return tmp_path


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The teams `render_module` is called for (in-process runs: --jobs 1)."""
    calls: list[str] = []
    real = pipeline.render_module

    def spy(module: Module, templates: Path | None = None) -> dict[str, str]:
        calls.append(module.team.name)
        return real(module, templates)

    monkeypatch.setattr(pipeline, "render_module", spy)
    return calls


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def check_json(*extra: str) -> tuple[int, dict[str, object]]:
    code, out, _ = invoke("check", "specs", "--jobs", "1", "--format", "json", *extra)
    return code, json.loads(out)


def reasons(doc: dict[str, object]) -> set[tuple[str, str]]:
    items = doc["items"]
    assert isinstance(items, list)
    return {(d["path"], d["code"]) for d in items}


def test_the_manifest_records_the_inputs_digest(fleet: Path) -> None:
    (team,) = load_and_validate([Path("specs/alpha.py")])
    doc = json.loads((fleet / "output" / "alpha" / MANIFEST_NAME).read_text())
    key = inputs.digest(team, fleet, inputs.context(fleet, None))
    assert doc["inputs"] == seal(key, doc["files"])


def test_an_unchanged_fleet_is_neither_rendered_nor_rewritten(
    fleet: Path, rendered: list[str]
) -> None:
    before = tree(fleet / "output")
    code, _, err = invoke("check", "specs", "--jobs", "1")
    assert code == 0, err
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert "0 files written, 0 removed, 0 parsed back" in err
    assert rendered == []
    assert tree(fleet / "output") == before


def test_a_spec_change_renders_that_team_only(fleet: Path, rendered: list[str]) -> None:
    write_spec(fleet / "specs", "bravo", step="2")
    code, doc = check_json()
    assert code == 1
    assert ("output/bravo/job_train.tf", "spec-changed") in reasons(doc)
    assert {p.split("/")[1] for p, _ in reasons(doc)} == {"bravo"}
    assert rendered == ["bravo"]
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    rendered.clear()
    assert invoke("check", "specs", "--jobs", "1")[0] == 0
    assert rendered == []


def test_a_template_override_change_renders_again(fleet: Path, rendered: list[str]) -> None:
    overrides = fleet / "overrides"
    overrides.mkdir()
    shutil.copy(Path(pipeline.__file__).parent.parent / "templates" / "versions.tf.j2", overrides)
    assert invoke("render", "specs", "--jobs", "1", "--templates", "overrides")[0] == 0
    rendered.clear()
    assert invoke("check", "specs", "--jobs", "1", "--templates", "overrides")[0] == 0
    assert rendered == []
    with (overrides / "versions.tf.j2").open("a") as handle:
        handle.write("# pinned by the platform team\n")
    render.environment.cache_clear()  # a new process would read the templates afresh
    code, doc = check_json("--templates", "overrides")
    assert code == 1
    assert reasons(doc) == {(f"output/{t}/versions.tf", "spec-changed") for t in TEAMS}
    assert rendered == list(TEAMS)
    assert invoke("render", "specs", "--jobs", "1", "--templates", "overrides")[0] == 0
    assert (fleet / "output/alpha/versions.tf").read_text().endswith("platform team\n")


def test_a_changed_generator_renders_again_without_churning_manifests(
    fleet: Path, rendered: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new generator fingerprint (a changed template or gen/ source) makes every team's
    recorded inputs stale: each is rendered; equal files are not drift and nothing is rewritten,
    not even the manifests (their `inputs` is a cache key, not content)."""
    before = tree(fleet / "output")
    monkeypatch.setattr(inputs, "fingerprint", lambda: "another generator")
    assert invoke("check", "specs", "--jobs", "1")[0] == 0
    assert rendered == list(TEAMS)
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert "0 files written, 0 removed" in err
    assert tree(fleet / "output") == before
    # A team written for another reason gets the current digest in its manifest.
    write_spec(fleet / "specs", "alpha", step="3")
    assert invoke("render", "specs", "--jobs", "1")[0] == 0
    rendered.clear()
    assert invoke("check", "specs", "--jobs", "1")[0] == 0
    assert rendered == ["bravo", "charlie"]


def test_a_hand_edited_file_is_drift(fleet: Path, rendered: list[str]) -> None:
    path = fleet / "output/alpha/main.tf"
    path.write_text(path.read_text() + "# hand edit\n")
    code, doc = check_json()
    assert code == 1
    assert ("output/alpha/main.tf", "edited") in reasons(doc)
    assert rendered == ["alpha"]


def test_a_hand_edit_with_a_matching_manifest_entry_is_still_drift(
    fleet: Path, rendered: list[str]
) -> None:
    """The manifest's `inputs` seals its file list: editing a file and its listed hash does not
    make the record pass for a render."""
    folder = fleet / "output/alpha"
    path = folder / "main.tf"
    path.write_text(path.read_text() + "# hand edit\n")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"]["main.tf"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    code, doc = check_json()
    assert code == 1
    # the edited manifest vouches for the file, so the reason is the spec's; still drift
    assert ("output/alpha/main.tf", "spec-changed") in reasons(doc)
    assert rendered == ["alpha"]


def test_a_deleted_file_is_missing(fleet: Path, rendered: list[str]) -> None:
    (fleet / "output/charlie/variables.tf").unlink()
    code, doc = check_json()
    assert code == 1
    assert reasons(doc) == {("output/charlie/variables.tf", "missing")}
    assert rendered == ["charlie"]
    assert invoke("render", "specs", "--jobs", "1")[0] == 0
    assert (fleet / "output/charlie/variables.tf").is_file()


def test_a_stale_listed_file_is_reported(fleet: Path, rendered: list[str]) -> None:
    """A file the manifest lists but the render does not make (as a job since renamed left)."""
    folder = fleet / "output/bravo"
    shutil.copy(folder / "job_train.tf", folder / "job_old.tf")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"]["job_old.tf"] = manifest["files"]["job_train.tf"]
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    code, doc = check_json()
    assert code == 1
    assert ("output/bravo/job_old.tf", "stale") in reasons(doc)
    assert rendered == ["bravo"]
    assert invoke("render", "specs", "--jobs", "1")[0] == 0
    assert not (folder / "job_old.tf").exists()


def test_an_unlisted_file_in_a_team_folder_takes_the_full_render(
    fleet: Path, rendered: list[str]
) -> None:
    folder = fleet / "output/bravo"
    shutil.copy(folder / "job_train.tf", folder / "job_copy.tf")
    # Left alone (not in the manifest), but with ecsgen's header a file the render does not
    # make: drift (Terraform would read its resources twice) until it is deleted.
    code, doc = check_json()
    assert code == 1 and reasons(doc) == {("output/bravo/job_copy.tf", "stale")}
    assert rendered == ["bravo"]
    (folder / "job_copy.tf").unlink()
    (folder / "job_mine.tf").write_text("# my own\n")
    assert invoke("check", "specs", "--jobs", "1")[0] == 0  # a hand-written file: fine


@pytest.mark.parametrize("leftover", [JOURNAL_NAME, STAGING_NAME])
def test_an_interrupted_render_takes_the_full_render(
    fleet: Path, rendered: list[str], leftover: str
) -> None:
    folder = fleet / "output/alpha"
    if leftover == JOURNAL_NAME:
        (folder / STAGING_NAME).mkdir()
        doc = {"write": ["main.tf", MANIFEST_NAME], "remove": {}}
        (folder / JOURNAL_NAME).write_text(json.dumps(doc) + "\n")
    else:
        (folder / STAGING_NAME).mkdir()
    code, doc = check_json()
    assert code == 1
    assert {r for _, r in reasons(doc)} == {"interrupted"}
    assert rendered == ["alpha"]
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert not (folder / JOURNAL_NAME).exists() and not (folder / STAGING_NAME).exists()


def test_render_force_renders_every_team(fleet: Path, rendered: list[str]) -> None:
    assert invoke("render", "specs", "--jobs", "1", "--force")[0] == 0
    assert rendered == list(TEAMS)


def test_parallel_output_is_identical(fleet: Path) -> None:
    write_spec(fleet / "specs", "bravo", step="9")
    (fleet / "output/charlie/main.tf").unlink()
    one = invoke("check", "specs", "--jobs", "1", "--format", "json")
    two = invoke("check", "specs", "--jobs", "2", "--format", "json")
    assert one[0] == two[0] == 1
    assert one[1] == two[1]


def test_the_digest_does_not_depend_on_where_the_checkout_lies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trees = []
    for where, cwd, args in (
        ("a", ".", ("specs", "--out", "output")),
        ("deeper/b", "specs", (".", "--out", "../output")),
    ):
        root = tmp_path / where
        (root / "specs").mkdir(parents=True)
        for team in TEAMS:
            write_spec(root / "specs", team)
        monkeypatch.chdir(root / cwd)
        code, _, err = invoke("render", *args, "--jobs", "1")
        assert code == 0, err
        trees.append(tree(root / "output"))
    assert trees[0] == trees[1]
    assert any(name.endswith(MANIFEST_NAME) for name in trees[0])
    # and the copy at another absolute path is up to date without a render
    monkeypatch.chdir(tmp_path / "a")
    shutil.copytree(tmp_path / "deeper/b/output", tmp_path / "a/output", dirs_exist_ok=True)
    calls: list[str] = []
    monkeypatch.setattr(pipeline, "render_module", lambda m, t=None: calls.append(m.team.name))
    assert invoke("check", "specs", "--jobs", "1")[0] == 0
    assert calls == []


def test_the_encoder_is_canonical_and_refuses_unknown_types(tmp_path: Path) -> None:
    write_spec(tmp_path, "alpha")
    (team,) = load_and_validate([tmp_path / "alpha.py"])
    moved = replace(team, path=Path("/elsewhere/alpha.py"), source="elsewhere/alpha.py")
    assert inputs.canonical(moved) == inputs.canonical(team)
    assert inputs.canonical(replace(team, region="eu-west-1")) != inputs.canonical(team)
    assert inputs.canonical({"b": 1, "a": (1.5, None, True)}) == inputs.canonical(
        {"a": [1.5, None, True], "b": 1}
    )
    assert inputs.canonical(1) != inputs.canonical(True)

    @dataclass
    class Holder:
        value: object

    for unknown in (object(), Path("/x"), Holder(object())):
        with pytest.raises(TypeError, match="cannot encode"):
            inputs.canonical(unknown)


def test_a_manifest_from_before_the_digest_is_not_drift_and_not_rewritten(
    fleet: Path, rendered: list[str]
) -> None:
    """Manifests written before `inputs` existed: the team is rendered and compared (no record
    to trust), nothing is drift, and render leaves the manifest as it is."""
    path = fleet / "output/alpha" / MANIFEST_NAME
    doc = json.loads(path.read_text())
    del doc["inputs"]
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
    before = tree(fleet / "output")
    assert invoke("check", "specs", "--jobs", "1")[0] == 0
    assert rendered == ["alpha"]
    code, _, err = invoke("render", "specs", "--jobs", "1")
    assert code == 0, err
    assert "0 files written, 0 removed" in err
    assert tree(fleet / "output") == before


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_link_is_never_up_to_date(fleet: Path, rendered: list[str], where: str) -> None:
    """A listed file, or the team folder, replaced by a link to the very same bytes: the team
    takes the full path, which refuses links (exit 2)."""
    folder = fleet / "output/bravo"
    if where == "file":
        shutil.copy(folder / "main.tf", fleet / "main.tf")
        (folder / "main.tf").unlink()
        (folder / "main.tf").symlink_to(fleet / "main.tf")
    else:
        shutil.copytree(folder, fleet / "bravo-copy")
        shutil.rmtree(folder)
        folder.symlink_to(fleet / "bravo-copy")
    code, _, err = invoke("check", "specs", "--jobs", "1")
    assert code == 2, err
    assert "link" in err
    assert rendered == ["bravo"]


def test_up_to_date_checks_on_the_workers_give_the_same_outcomes(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big fleets check their folders on the --jobs workers (`FRESH_PARALLEL` teams on): with
    the threshold at one team, the results are those of one process."""
    monkeypatch.setattr(pipeline, "FRESH_PARALLEL", 1)
    assert invoke("check", "specs", "--jobs", "2")[0] == 0
    code, _, err = invoke("render", "specs", "--jobs", "2")
    assert code == 0, err
    assert "0 files written, 0 removed, 0 parsed back" in err
    write_spec(fleet / "specs", "bravo", step="9")
    (fleet / "output/charlie/main.tf").write_text("# edited\n")
    one = invoke("check", "specs", "--jobs", "1", "--format", "json")
    two = invoke("check", "specs", "--jobs", "2", "--format", "json")
    assert one[0] == two[0] == 1
    assert one[1] == two[1]
    assert reasons(json.loads(two[1])) == {
        ("output/bravo/job_train.tf", "spec-changed"),
        ("output/charlie/main.tf", "edited"),
    }


def test_the_digest_covers_the_bundled_templates_and_jinjas_version() -> None:
    assert render.templates_dir is inputs.templates_dir  # one definition: the folder rendered
    assert (inputs.templates_dir() / "job.tf.j2").is_file()
    assert f'__version__ = "{jinja2.__version__}"'.encode() in inputs._jinja()


def test_an_up_to_date_run_imports_no_renderer(fleet: Path) -> None:
    """Modelling, Jinja and the parse-back are imported only when a team is rendered."""
    probe = (
        "import sys\n"
        "from ecsgen.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    heavy = ('jinja2', 'lark', 'hcl2', 'ecsgen.model', 'ecsgen.render', 'ecsgen.verify')\n"
        "    print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    for command in ("check", "render"):
        result = subprocess.run(
            [sys.executable, "-c", probe, command, "specs", "--jobs", "1"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "[]\n", (command, result.stdout)
    write_spec(fleet / "specs", "bravo", step="2")
    result = subprocess.run(
        [sys.executable, "-c", probe, "check", "specs", "--jobs", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "'jinja2'" in result.stdout and "'ecsgen.render'" in result.stdout
