"""HCL text: escaping, rendering and alignment, checked against python-hcl2 and, where the
question is what Terraform itself does, against the real terraform binary."""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import hcl2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsgen.hcl import (
    Expr,
    Heredoc,
    align,
    decode,
    fmt,
    identifier,
    interpolate,
    quote,
    reindent,
    render,
)
from tests.conftest import Terraform

HOSTILE = [
    "",
    "plain",
    'say "hi"',
    "back\\slash",
    "\\\\",
    "${var.x}",
    "$${var.x}",
    "$$${x}",
    "%{ if }",
    "%%{x}",
    "$",
    "%",
    "${",
    "%{",
    "}",
    "$${",
    "line\nbreak",
    "cr\r\n",
    "tab\t",
    "bell\x07",
    "esc\x1b[0m",
    "del\x7f",
    "nbsp\u00a0",
    "naïve café",
    "東京",
    "🚀 emoji",
    "\u2028sep",
    "trailing\\",
    '"',
    "'single'",
    "a = b",
    "# not a comment",
    "// nor this",
    "<<EOT",
]
ALPHABET = '$%{}"\\\n\r\t\x01\x7f aZ9=#/<>éß東🚀\u2028'


def hostile_corpus(count: int = 300) -> list[str]:
    rng = random.Random(20261128)
    generated = [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24))) for _ in range(count)
    ]
    return HOSTILE + generated


def parse_value(expression: str) -> object:
    return decode(hcl2.loads(f"x = {expression}\n")["x"])


@given(st.text())
def test_quote_round_trips_through_python_hcl2(text: str) -> None:
    assert parse_value(quote(text)) == text


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40))
def test_quoted_strings_never_interpolate(text: str) -> None:
    quoted = quote(text)
    body = quoted[1:-1].replace("$${", "").replace("%%{", "")
    assert "${" not in body and "%{" not in body
    assert "\n" not in quoted and "\r" not in quoted


def test_heredoc_round_trips_and_escapes_templates() -> None:
    text = "#!/bin/bash\necho ${HOME} %{x}\n  indented\n"
    rendered = render(Heredoc(text), 1)
    assert "$${HOME}" in rendered and "%%{x}" in rendered
    assert parse_value(rendered) == text


def test_interpolate_escapes_literal_parts_only() -> None:
    expr = interpolate('repo"${x}:', Expr("var.tag"))
    assert expr.text == '"repo\\"$${x}:${var.tag}"'


def test_identifier_refuses_anything_unsafe() -> None:
    assert identifier("job_1-a") == "job_1-a"
    for bad in ("Job", "1job", "a b", 'x"', "a.b", ""):
        with pytest.raises(ValueError, match="not a safe HCL identifier"):
            identifier(bad)


def test_keywords_as_object_keys_are_quoted() -> None:
    assert render({"for": 1, "null": 2, "x": 3}) == '{\n  "for" = 1\n  "null" = 2\n  x = 3\n}'


def test_render_values() -> None:
    assert render({"a": 1, "b-c": True}) == '{ a = 1, "b-c" = true }'
    assert render(["x", None]) == '["x", null]'
    assert render({"k": {"n": 1}}, 0) == "{\n  k = { n = 1 }\n}"
    assert render([], 0) == "[]" and render({}, 0) == "{}"


def test_align_matches_hclwrite_rules() -> None:
    text = "\n".join(
        [
            "a = 1",
            "long_name = 2",
            "obj = {",
            "  x = 1",
            "  yy = 2",
            "}",
            "z = 3",
            "",
            "h = <<-EOT",
            "  k = v",
            "EOT",
            "hh = 1",
        ]
    )
    assert align(text) == "\n".join(
        [
            "a         = 1",
            "long_name = 2",
            "obj = {",
            "  x  = 1",
            "  yy = 2",
            "}",
            "z = 3",
            "",
            "h  = <<-EOT",
            "  k = v",
            "EOT",
            "hh = 1",
        ]
    )


def test_reindent_lays_out_nesting_and_moves_heredocs_with_their_line() -> None:
    text = "\n".join(
        [
            "a {",
            "      b = [",
            '"x",',
            "    ]",
            "c = {",
            "k = 1",
            "}",
            "d = " + render(Heredoc("one\n  two\n")),
            "   }",
        ]
    )
    assert reindent(text) == "\n".join(
        [
            "a {",
            "  b = [",
            '    "x",',
            "  ]",
            "  c = {",
            "    k = 1",
            "  }",
            "  d = <<-EOT",
            "    one",
            "      two",
            "  EOT",
            "}",
        ]
    )


def test_align_normalises_spacing_of_values_that_span_lines() -> None:
    assert align("x    = [\n  1,\n]") == "x = [\n  1,\n]"


# -- the real terraform as the oracle ---------------------------------------------------------


@pytest.mark.terraform
def test_terraform_reads_escaped_strings_exactly(terraform: Terraform, tmp_path: Path) -> None:
    corpus = hostile_corpus()
    outputs = [f'output "s{i}" {{\nvalue = {render(text)}\n}}' for i, text in enumerate(corpus)]
    doc = render(Heredoc("a ${b}\n%{c}\n"))
    outputs.append(f'output "doc" {{\nvalue = {doc}\n}}')
    (tmp_path / "main.tf").write_text(fmt("\n\n".join(outputs)) + "\n", encoding="utf-8")
    terraform.ok("init", "-backend=false", cwd=tmp_path, timeout=120)
    terraform.ok("apply", "-auto-approve", "-lock=false", cwd=tmp_path, timeout=120)
    values = json.loads(terraform.ok("output", "-json", cwd=tmp_path, timeout=60))
    for i, text in enumerate(corpus):
        assert values[f"s{i}"]["value"] == text, (i, text)
    assert values["doc"]["value"] == "a ${b}\n%{c}\n"


KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
SCALARS = st.one_of(st.integers(-5, 10**6), st.booleans(), st.text(ALPHABET, max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=8,
)


def _unformatted(attrs: dict[str, object], nested: list[dict[str, object]]) -> str:
    """A block as a template might leave it: values from `render`, no indentation at all,
    `=` signs anywhere; `fmt` has to lay it out."""
    lines = ['resource "aws_thing" "this" {']
    lines += [f"{key}   = {render(value)}" for key, value in attrs.items()]  # type: ignore[arg-type]
    for body in nested:
        lines += ["", "nested {", *(f"{k}={render(v)}" for k, v in body.items()), "}"]  # type: ignore[arg-type]
    return "\n".join([*lines, "}"])


BLOCKS = st.builds(
    _unformatted,
    st.dictionaries(KEYS, VALUES, min_size=1, max_size=6),
    st.lists(st.dictionaries(KEYS, SCALARS, min_size=1, max_size=4), max_size=2),
)


@pytest.mark.terraform
@settings(max_examples=60, deadline=None, derandomize=True)
@given(block=BLOCKS)
def test_rendered_blocks_are_what_terraform_fmt_writes(terraform: Terraform, block: str) -> None:
    text = fmt(block) + "\n"
    result = subprocess.run(
        [terraform.binary, "fmt", "-"],
        input=text,
        capture_output=True,
        text=True,
        env=terraform.env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == text


def test_hostile_corpus_has_every_kind_of_trouble() -> None:
    joined = "".join(hostile_corpus())
    for needle in ('"', "\\", "${", "%{", "\n", "\r", "\t", "\x07", "東", "🚀", "\u2028"):
        assert needle in joined
    assert set(string.ascii_letters) & set(joined)


def test_ecr_hosts_are_recognised() -> None:
    from ecsgen.model.job.iam import ECR_HOST

    for host in (
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        "123456789012.dkr-ecr.eu-west-1.on.aws",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
    ):
        assert ECR_HOST.fullmatch(host), host
    for host in ("ghcr.io", "public.ecr.aws", "123456789012.dkr.ecr.us-east-1.example.com"):
        assert not ECR_HOST.fullmatch(host), host
