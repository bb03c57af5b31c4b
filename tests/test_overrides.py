"""Template overrides fail loudly and are data, not code: every mistake in an override folder
(a file or block name that matches nothing, a template that does not exist, a syntax error, an
exception inside a template, a value placed unquoted where Terraform reads an expression) is
exit 2 from `render` and `check` at every `--jobs`, naming the file and line, with "did you
mean" where a near name exists, and nothing written; files that are not templates are ignored
by the stated rule; and an override reaches only the model it is given (Jinja's immutable
sandbox): no globals, no environment, no files, no way to end the process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecsgen.cli import main
from ecsgen.render import bundled_names
from tests.conftest import EXAMPLES

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="{team}", region="us-east-1", jobs=[
    Job(name="bert-finetune", image="r/x:1", command=["python", "t.py"], nodes=2,
        compute=Fargate(cpu=256, memory=512)),
])
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two teams (so that --jobs 2 renders them on two workers), rendered once."""
    (tmp_path / "specs").mkdir()
    for team in ("nlp", "vision"):
        (tmp_path / "specs" / f"{team}.py").write_text(SPEC.format(team=team), encoding="utf-8")
    (tmp_path / "tpl").mkdir()
    monkeypatch.chdir(tmp_path)
    assert invoke("render", "specs")[0] == 0
    return tmp_path


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def refused(workdir: Path, *messages: str) -> None:
    """render and check, at --jobs 1 and 2, exit 2 with every message; nothing written."""
    before = tree(workdir / "output")
    for jobs in ("1", "2"):
        for command in ("render", "check"):
            code, _, err = invoke(command, "specs", "--templates", "tpl", "--jobs", jobs)
            assert code == 2, (command, jobs, err)
            for message in messages:
                assert message in err, (command, jobs, message, err)
        code, out, _ = invoke("check", "specs", "--templates", "tpl", "--format", "json")
        assert code == 2 and json.loads(out)["ok"] is False
    assert tree(workdir / "output") == before


def override(workdir: Path, name: str, text: str) -> None:
    path = workdir / "tpl" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_an_override_file_that_matches_no_bundled_template(workdir: Path) -> None:
    override(workdir, "job/log.tf.j2", '{% extends "bundled/job/logs.tf.j2" %}\n')
    refused(workdir, "tpl/job/log.tf.j2: matches no bundled template", "'job/logs.tf.j2'")


def test_a_fragment_at_the_wrong_level(workdir: Path) -> None:
    override(workdir, "logs.tf.j2", '{% extends "bundled/job/logs.tf.j2" %}\n')
    refused(workdir, "tpl/logs.tf.j2: matches no bundled template")


def test_a_misspelled_block(workdir: Path) -> None:
    text = (
        '{% extends "bundled/job/completion.tf.j2" %}\n'
        "{% block role_argument %}  permissions_boundary = null\n{% endblock %}\n"
    )
    override(workdir, "job/completion.tf.j2", text)
    refused(
        workdir,
        "tpl/job/completion.tf.j2:2: bundled/job/completion.tf.j2 has no block 'role_argument'",
        "did you mean 'role_arguments'?",
    )


def test_a_block_the_parent_does_not_have(workdir: Path) -> None:
    override(
        workdir,
        "versions.tf.j2",
        '{% extends "bundled/versions.tf.j2" %}{% block extra %}x{% endblock %}',
    )
    refused(workdir, "tpl/versions.tf.j2:1: bundled/versions.tf.j2 has no block 'extra'")


def test_a_template_that_does_not_exist(workdir: Path) -> None:
    override(workdir, "outputs.tf.j2", '{% extends "bundled/output.tf.j2" %}\n')
    refused(workdir, "tpl/outputs.tf.j2:1: no template 'bundled/output.tf.j2'", "did you mean")


def test_a_syntax_error_in_a_used_override(workdir: Path) -> None:
    override(workdir, "outputs.tf.j2", '{% extends "bundled/outputs.tf.j2" %}\n{% block extra %}\n')
    refused(workdir, "tpl/outputs.tf.j2:", "template syntax error")


def test_a_syntax_error_in_an_unused_helper(workdir: Path) -> None:
    override(workdir, "_notes.j2", "{% if %}\n")
    refused(workdir, "tpl/_notes.j2:1: template syntax error")


def test_files_that_are_not_templates_are_ignored(workdir: Path) -> None:
    """The stated rule: only `.j2` files are templates; dot files and folders never are."""
    (workdir / "tpl" / "README.md").write_text("{{ like this }\n", encoding="utf-8")
    (workdir / "tpl" / ".DS_Store").write_bytes(b"\x00\x01\xff\xfe")
    (workdir / "tpl" / ".git").mkdir()
    (workdir / "tpl" / ".git" / "x.j2").write_text("{% if %}", encoding="utf-8")
    for jobs in ("1", "2"):
        code, _, err = invoke("render", "specs", "--templates", "tpl", "--jobs", jobs, "--force")
        assert code == 0, err
        assert invoke("check", "specs", "--templates", "tpl", "--jobs", jobs)[0] == 0


def test_a_binary_template_is_refused_by_name(workdir: Path) -> None:
    (workdir / "tpl" / "main.tf.j2").write_bytes(b"\xff\xfe{% extends 'bundled/main.tf.j2' %}")
    refused(workdir, "tpl/main.tf.j2: not UTF-8 text")


@pytest.mark.parametrize(
    "expression",
    ["(1 // 0) | hcl", "module.variables | tojson", "module.team.name.nope()"],
)
def test_an_exception_inside_a_template(workdir: Path, expression: str) -> None:
    override(
        workdir,
        "job/logs.tf.j2",
        '{% extends "bundled/job/logs.tf.j2" %}\n{% block x %}{% endblock %}',
    )
    (workdir / "tpl" / "job" / "logs.tf.j2").write_text(
        "{% include 'bundled/job/logs.tf.j2' %}\n# {{ " + expression + " }}\n", encoding="utf-8"
    )
    refused(workdir, "tpl/job/logs.tf.j2:2:")


def test_the_example_overrides_still_render(workdir: Path) -> None:
    shutil.rmtree(workdir / "tpl")
    shutil.copytree(EXAMPLES.parent / "templates", workdir / "tpl")
    shutil.rmtree(workdir / "specs")
    shutil.copytree(EXAMPLES, workdir / "specs")
    code, _, err = invoke("render", "specs", "--templates", "tpl", "--out", "o2")
    assert code == 0, err


# -- the raw-value guard ----------------------------------------------------------------------


def test_an_unquoted_bare_value_is_refused(workdir: Path) -> None:
    text = (
        '{% extends "bundled/job.tf.j2" %}{% block extra %}\n'
        "locals {\n  kms_{{ job.ident }} = {{ job.name }}\n}\n{% endblock %}\n"
    )
    override(workdir, "job.tf.j2", text)
    refused(
        workdir, "'bert-finetune' is placed without `| hcl` where Terraform reads an expression"
    )


def test_a_bare_value_in_quotes_or_a_comment_is_placed(workdir: Path) -> None:
    text = (
        '{% extends "bundled/job.tf.j2" %}{% block extra %}\n'
        '# {{ job.name }}\nlocals {\n  kms_{{ job.ident }} = "alias/{{ job.name }}"\n'
        "  doc_{{ job.ident }} = <<EOT\n{{ job.name }} docs\nEOT\n}\n"
        "{% endblock %}\n"
    )
    override(workdir, "job.tf.j2", text)
    code, _, err = invoke("render", "specs", "--templates", "tpl")
    assert code == 0, err
    written = (workdir / "output" / "nlp" / "job_bert_finetune.tf").read_text(encoding="utf-8")
    assert '"alias/bert-finetune"' in written and "# bert-finetune" in written
    assert "bert-finetune docs\n" in written
    assert "\x00" not in written and "\x01" not in written


HCL_TEMPLATES = [n for n in bundled_names() if n.endswith(".tf.j2") and n != "versions.tf.j2"]


@pytest.mark.parametrize("name", HCL_TEMPLATES)
def test_the_guard_holds_in_every_bundled_template(workdir: Path, name: str) -> None:
    """Each bundled HCL template, copied as an override with one more line that places a
    hyphenated word bare where an expression goes: refused, naming it (the example specs, so
    that every template renders: EC2 instances, completion, ...)."""
    shutil.copytree(EXAMPLES, workdir / "examples")
    source = (Path(__file__).resolve().parents[1] / "templates" / name).read_text()
    override(workdir, name, source + '\nzz_probe = {{ "team-" ~ module.team.name }}\n')
    code, _, err = invoke("check", "examples", "--templates", "tpl")
    assert code == 2, err
    assert "'team-" in err and "is placed without `| hcl`" in err, err


# -- the sandbox -------------------------------------------------------------------------------

ESCAPES = {
    "globals": "{{ cycler.__init__.__globals__.os.environ.get('PROBE_SECRET', 'unset') | hcl }}",
    "environment": "{{ lipsum.__globals__['os'].environ['PROBE_SECRET'] | hcl }}",
    "file": "{{ module.team.path.read_text() | hcl }}",
    "file via parent": "{{ module.team.path.parent | hcl }}",
    "exit": "{{ cycler.__init__.__globals__.os._exit(0) }}",
    "mutation": "{{ module.variables.append(1) }}",
    "class walk": "{{ ''.__class__.__mro__[1].__subclasses__() | hcl }}",
}


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_an_override_reaches_only_its_model(
    workdir: Path, escape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_SECRET", "s3cr3t-value")
    text = (
        '{% extends "bundled/outputs.tf.j2" %}{% block extra %}\n'
        "locals {\n  leak = " + ESCAPES[escape] + "\n}\n{% endblock %}\n"
    )
    override(workdir, "outputs.tf.j2", text)
    (workdir / "pyproject.toml").write_text('[tool.ecsgen]\ntemplates = "tpl"\n')
    for jobs in ("1", "2"):
        code, out, err = invoke("check", "specs", "--out", "nothing-here", "--jobs", jobs)
        assert code == 2, (jobs, err)  # never 0 without comparing
        assert "s3cr3t" not in out + err
        assert "tpl/outputs.tf.j2:" in err, err
    assert not any("s3cr3t" in p.read_text() for p in (workdir / "output").rglob("*.tf"))
    assert os.environ["PROBE_SECRET"] == "s3cr3t-value"


def test_compiled_templates_are_never_shared_with_a_plain_environment() -> None:
    """The bytecode cache is shared with older ecsgen versions (and anything else using Jinja):
    code compiled without the sandbox must not be loaded into it."""
    import jinja2

    from ecsgen.render import SandboxBytecodeCache, environment, prepare

    prepare(None)
    cache = environment(None).bytecode_cache
    assert isinstance(cache, SandboxBytecodeCache)
    plain = jinja2.FileSystemBytecodeCache()
    assert cache.get_cache_key("main.tf.j2", "/x") != plain.get_cache_key("main.tf.j2", "/x")
    assert environment(None).sandboxed
