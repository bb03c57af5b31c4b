"""Golden tests: the committed modules are exactly what the specs render to.

`output/` holds the example specs' modules (what the README's first command produces);
`tests/cases/<name>/` holds a spec and its expected tree for cases that are not examples.
Run `pytest --update-goldens` to rewrite both after an intended change, then review the diff.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from ecsgen.inputs import context, digest
from ecsgen.isolate import load_and_validate
from ecsgen.pipeline import render_in_memory
from ecsgen.settings import templates_setting
from ecsgen.verify import parse
from ecsgen.write import MANIFEST_NAME, manifest_text, seal
from tests.conftest import EXAMPLES, OUTPUT, ROOT

CASES = ROOT / "tests" / "cases"
HINT = "if the change is intended, run `pytest --update-goldens` and review the diff"


def _digests(files: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}


def _compare(rendered: dict[str, str], folder: Path, update: bool) -> None:
    if update:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, text in rendered.items():
            (folder / name).write_bytes(text.encode("utf-8"))
        return
    on_disk = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert on_disk == sorted(rendered), f"{folder}: files differ; {HINT}"
    for name, made in rendered.items():
        expected = (folder / name).read_text(encoding="utf-8")
        text = made
        if name == MANIFEST_NAME:  # its `inputs` is a cache key, not content: compare the rest
            recorded = json.loads(expected).get("inputs")
            text = manifest_text({n: t for n, t in rendered.items() if n != name}, None, recorded)
        if expected != text:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{folder / name} (golden)",
                    tofile=f"{name} (rendered)",
                    n=2,
                )
            )
            pytest.fail(f"{folder / name} differs from the render; {HINT}\n{diff[:4000]}")


def test_examples_match_committed_output(chdir_root: Path, update_goldens: bool) -> None:
    specs = [EXAMPLES.relative_to(ROOT)]
    rendered = render_in_memory(specs)
    assert sorted(rendered) == [
        "frontier",
        "llm",
        "ranking",
        "recsys",
        "speech",
        "starter",
        "vision",
    ]
    teams = {t.name: t for t in load_and_validate(specs)}
    for team, files in rendered.items():  # `ecsgen render` adds each team folder's manifest
        shared = context(ROOT, templates_setting(specs))
        key = seal(digest(teams[team], ROOT, shared), _digests(files))
        manifest = manifest_text(files, None, key)
        _compare({**files, MANIFEST_NAME: manifest}, OUTPUT / team, update_goldens)
    committed = sorted(p.name for p in OUTPUT.iterdir() if p.is_dir())
    assert committed == sorted(rendered), f"output/ has modules no example renders; {HINT}"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case_matches_expected_tree(case: str, chdir_root: Path, update_goldens: bool) -> None:
    spec = (CASES / case / "spec.py").relative_to(ROOT)
    rendered = render_in_memory([spec])
    assert len(rendered) == 1
    (files,) = rendered.values()
    _compare(files, CASES / case / "expected", update_goldens)


def test_render_is_deterministic(chdir_root: Path) -> None:
    first = render_in_memory([EXAMPLES.relative_to(ROOT)])
    second = render_in_memory([EXAMPLES.relative_to(ROOT)])
    assert first == second
    for files in first.values():
        for text in files.values():
            assert "\r" not in text and text.endswith("\n")
            assert "20" + "26-" not in text.splitlines()[0]  # no timestamp in the header


# EC2 accepts only these characters in security group and rule descriptions
# (CreateSecurityGroup / AuthorizeSecurityGroupIngress API reference).
EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*")


def test_security_group_descriptions_use_characters_ec2_accepts() -> None:
    checked = 0
    for path in sorted(OUTPUT.glob("*/*.tf")):
        doc = parse(path.read_text(encoding="utf-8"), str(path))
        for entry in doc.get("resource", []):  # type: ignore[union-attr]
            for rtype, named in entry.items():
                if not rtype.startswith(("aws_security_group", "aws_vpc_security_group_")):
                    continue
                for body in named.values():
                    description = body["description"]
                    assert EC2_DESCRIPTION.fullmatch(description), (path, description)
                    checked += 1
    assert checked >= 4 * 6  # a group and three rules per job
