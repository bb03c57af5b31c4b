"""The parse-back's one-pass reading (`ecsgen.fastparse.data`) against python-hcl2's own: on every
generated file, on hostile strings and on every construct of the grammar, it must give the data
`ecsgen.verify` would get from `hcl2.loads`, compared the way `ecsgen.verify` compares (expressions
without spaces and commas, python-hcl2's `__` metadata left out)."""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecsgen import fastparse
from ecsgen.hcl import Expr, Heredoc, decode, render
from ecsgen.verify import _canon, parse
from tests.conftest import OUTPUT, ROOT


def _comparable(value: object) -> object:
    if isinstance(value, Expr):
        return _canon(value)
    if isinstance(value, dict):
        return {
            k: _comparable(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("__"))
        }
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _python_hcl2(text: str) -> object:
    return _comparable(decode(hcl2.loads(text)))


def _fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the fallback to python-hcl2's transformer fail loudly."""

    def refuse(text: str) -> dict[str, object]:
        raise AssertionError("fell back to python-hcl2's transformer")

    monkeypatch.setattr(fastparse, "loads", refuse)


def _generated_files() -> list[Path]:
    files = sorted(OUTPUT.rglob("*.tf")) + sorted((ROOT / "tests" / "cases").rglob("*.tf"))
    assert len(files) > 30
    return files


def test_every_generated_file_reads_as_python_hcl2_reads_it_in_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = {path: _python_hcl2(path.read_text(encoding="utf-8")) for path in _generated_files()}
    _fast_only(monkeypatch)
    lark = fastparse._reader()[0]
    assert type(lark.parser.parser.parser).__name__ == "FastParser"  # the lean LALR loop runs
    assert type(lark.parser.lexer).__name__ == "_FastLexer"  # and the lean lexer
    for path, want in expected.items():
        got = fastparse.data(path.read_text(encoding="utf-8"))
        assert _comparable(got) == want, path
        assert parse(path.read_text(encoding="utf-8"), path.name) == got


# Each construct of python-hcl2's grammar, and whether the one-pass reading takes it (True) or
# hands the file to python-hcl2's transformer (False). Either way the data must agree.
CONSTRUCTS = [
    ('a = "plain"', True),
    ('a = "esc \\" \\\\ \\n \\t \\r \\u00e9 \\U0001F680 $${x} %%{y}"', True),
    ('a = "arn:${data.aws_partition.current.partition}:x/${var.y[0]}"', True),
    ('a = "${aws_x.y.*.arn}"', True),
    ('a = "${var.a ? 1 : 2}"', False),
    ('a = "%{ if var.a }yes%{ endif }"', False),
    ('a = "%{ for x in var.l }${x}%{ endfor }"', False),
    ("a = <<-EOT\n    hello\n      world $${x}\n    EOT", True),
    ("a = <<EOT\nraw ${var.x}\nEOT", True),
    ("a = 1\nb = -2\nc = 1.5\nd = -0.25\ne = true\nf = false\ng = null", True),
    ("a = 1e5", False),
    ("a = -var.x\nb = !var.y\nc = -(1)", True),
    ('a = [var.a, "x", 1, -2, true, null, [1, [2]], {k = 1}]', True),
    ('a = {k = "v", "q" = 2, (var.z) = 3, in = 4, 5 = 6}', True),
    ('a = {\n  k = "v",\n  j = [\n    1,\n    2,\n  ]\n}', True),
    ("a = var.a != null ? var.a : nonsensitive(data.x.y[0].value)", True),
    ("a = [for k, v in var.m : upper(k) if v != null]", True),
    ("a = {for k, v in var.m : k => v...}", True),
    ("a = var.list[*].id\nb = var.obj.*.name\nc = var.t.0", True),
    ('a = merge(local.tags, {Name = "x"}, {"ecsgen:job" = "y"})', True),
    ("a = provider::aws::arn_parse(var.arn)", True),
    ("a = max(\n  var.a - 1,\n  0,\n)", True),
    ("a = (var.a\n  + var.b)", True),
    ("a = var.a + # why\n  var.b", False),
    ("a = var.a # why\n  + var.b", False),
    ("a = [\n  # c\n  1,\n  2, # d\n  /* e */ 3\n]", True),
    ("a = {\n  # c\n  k = 1 # d\n  j = [2] // e\n}", True),
    ("a = var.a\n  + var.b", True),
    ("a = (var.b # c\n  ? 1 : 2)", False),
    ("a = (var.b\n  ? 1\n  : 2)", True),
    ('a = "x" # a comment with ${x} and "quotes"\nb = 1 // another\n', True),
    ("a = var.a && var.b || !var.c && var.d == 1 && var.e <= 2 && 3 % 2 > 0", True),
    (
        'resource "aws_x" "y" {\n  n = 1\n  setting {\n    name = "a"\n  }\n  setting {\n'
        '    name = "b"\n  }\n  dynamic "z" {\n    for_each = var.q ? [1] : []\n'
        "    content {\n      w = z.value\n    }\n  }\n}",
        True,
    ),
    (
        '# top\nterraform { # trailing\n  required_version = ">= 1.5" // c\n  /* block */\n}\n'
        "locals {\n  a = 1 # after\n}",
        True,
    ),
    ("in {\n  for = 1\n}\nlocals {\n  x = 1\n}\nlocals {\n  y = 2\n}", True),
    ('block "a" b "c" {\n  x = 1\n}', True),
    ('a = "crlf"\r\nb = <<EOT\r\nline\r\nEOT\r\n', True),
    ('a = "\\\\\\"${var.x}\\""', True),
]


@pytest.mark.parametrize(("text", "one_pass"), CONSTRUCTS)
def test_each_construct_reads_as_python_hcl2_reads_it(
    text: str, one_pass: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = _python_hcl2(text)
    assert _comparable(fastparse.data(text)) == want
    if one_pass:
        _fast_only(monkeypatch)
        assert _comparable(fastparse.data(text)) == want
    else:
        with pytest.raises(fastparse.Unsupported):
            fastparse._reader()[0].parse(text + "\n")


def test_a_syntax_error_is_the_error_python_hcl2_raises() -> None:
    for text in ('resource "a" "b" {\n', "a = [1,\n", 'a = "open\n', "a = var.\n"):
        with pytest.raises(Exception) as fast:
            fastparse.data(text)
        with pytest.raises(Exception) as slow:
            hcl2.loads(text)
        assert type(fast.value) is type(slow.value), text
        # The first line is what `ecsgen.verify` reports (the list of expected tokens after it
        # comes from a set, in no fixed order).
        assert str(fast.value).split("\n")[0] == str(slow.value).split("\n")[0], text
        assert "line" in str(fast.value).split("\n")[0]


HOSTILE = st.text(
    alphabet=st.sampled_from(list('$%{}"\\\n\r\t\x00\x07 aZ9=#/éß東🚀\u2028\u0085')),
    max_size=40,
)
VALUES = st.recursive(
    HOSTILE | st.integers(-(10**6), 10**6) | st.booleans() | st.none(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, heredoc=HOSTILE)
def test_hostile_values_read_as_python_hcl2_reads_them(value: object, heredoc: str) -> None:
    lines = [f"value = {render(value)}"]  # type: ignore[arg-type]
    if "\r" not in heredoc:
        lines.append(f"text = {render(Heredoc(heredoc.rstrip(chr(10)) + chr(10)))}")
    text = "locals {\n" + "\n".join(lines) + "\n}\n"
    assert _comparable(fastparse.data(text)) == _python_hcl2(text)
    assert fastparse.data(text)["locals"] == [parse(text, "t.tf")["locals"][0]]  # type: ignore[index]
