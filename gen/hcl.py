r"""HCL text: escaping, value rendering, `terraform fmt` alignment, and decoding of parsed values.

Everything that turns a Python value into HCL source lives here, so escaping has exactly one
implementation. The rules follow the HCL native syntax specification (hashicorp/hcl,
`hclsyntax/spec.md`, "Template Expressions" and "Literal Values"):

* in a quoted string, `\\`, `\"`, `\n`, `\r`, `\t`, `\uNNNN` and `\UNNNNNNNN` are escapes;
* `${` and `%{` open a template sequence; `$${` and `%%{` are their literal forms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Expr",
    "HclValue",
    "Heredoc",
    "align",
    "decode",
    "decode_string",
    "fmt",
    "identifier",
    "interpolate",
    "quote",
    "reindent",
    "render",
]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_-]*")
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_INLINE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Expr:
    """A raw HCL expression, placed as is (`var.tags`, `aws_iam_role.task.arn`)."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A multi-line string, written as an indented heredoc (`<<-EOT`). It must end in a newline."""

    text: str


HclValue = (
    str | int | bool | None | Expr | Heredoc | Sequence["HclValue"] | Mapping[str, "HclValue"]
)


def _escape_char(char: str) -> str:
    if char in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or char in "\u2028\u2029":
        return f"\\u{code:04x}"
    return char


_NEEDS_ESCAPE = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029]|[$%]\{')


def escape(text: str) -> str:
    """Escape `text` for the inside of an HCL quoted string (no surrounding quotes).

    `${` and `%{` would start a template sequence. Their documented literal forms are `$${` and
    `%%{`; where no `}` follows, `\u0024{` / `\u0025{` say the same thing to Terraform and
    also parse in python-hcl2, whose grammar only knows closed `$${...}` escapes.
    """
    if not _NEEDS_ESCAPE.search(text):
        return text  # most names and descriptions: nothing to do
    body = "".join(_escape_char(c) for c in text)
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith(("${", "%{"), i):
            closed = "}" in body[i + 2 :]
            out.append(body[i] * 2 + "{" if closed else f"\\u{ord(body[i]):04x}{{")
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def escape_template(text: str) -> str:
    """Escape only template sequences, for heredoc bodies (no quote or newline escapes)."""
    return text.replace("${", "$${").replace("%{", "%%{")


def quote(text: str) -> str:
    """`text` as an HCL quoted string literal."""
    return f'"{escape(text)}"'


def identifier(name: str) -> str:
    """Refuse anything that is not a safe Terraform identifier (`[a-z_][a-z0-9_-]*`)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a safe HCL identifier: {name!r}")
    return name


def interpolate(*parts: str | Expr) -> Expr:
    """A quoted template mixing literal text (escaped) with expressions (`${...}`)."""
    body = "".join(f"${{{p.text}}}" if isinstance(p, Expr) else escape(p) for p in parts)
    return Expr(f'"{body}"')


_KEYWORDS = frozenset({"for", "if", "in", "null", "true", "false", "endfor", "endif"})


def _key(name: str) -> str:
    """An object key: bare when it is a plain identifier, quoted otherwise (and for keywords,
    which Terraform would read as the start of an expression)."""
    return name if _BARE_KEY.fullmatch(name) and name not in _KEYWORDS else quote(name)


def _is_scalar(value: HclValue) -> bool:
    return value is None or isinstance(value, str | int | bool | Expr)  # not Heredoc


def render(value: HclValue, indent: int = 0) -> str:
    """Render a Python value as an HCL expression.

    Lists of scalars and small objects of scalars stay on one line; anything else is written
    one item a line, indented by two spaces a level. Keys keep their given order: callers sort.
    """
    pad = "  " * indent
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, Heredoc):
        lines = value.text.removesuffix("\n").split("\n")
        body = "\n".join(f"{pad}  {escape_template(line)}".rstrip() for line in lines)
        return f"<<-EOT\n{body}\n{pad}EOT"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        if len(value) <= 2 and all(_is_scalar(v) for v in value.values()):
            inline = ", ".join(f"{_key(k)} = {render(v)}" for k, v in value.items())
            if len(inline) <= _INLINE_LIMIT:
                return "{ " + inline + " }"
        lines = [f"{pad}  {_key(k)} = {render(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    items = list(value)
    if not items:
        return "[]"
    if all(_is_scalar(v) for v in items):
        inline = ", ".join(render(v) for v in items)
        if len(inline) <= _INLINE_LIMIT:
            return f"[{inline}]"
    lines = [f"{pad}  {render(v, indent + 1)}," for v in items]
    return "[\n" + "\n".join(lines) + f"\n{pad}]"


# --------------------------------------------------------------------------------------------
# Alignment, as `terraform fmt` (hclwrite/format.go `formatCells`) does it: consecutive lines
# that assign a complete, single-line expression form a chain whose `=` signs are aligned one
# column after the longest key. A line whose value opens a bracket it does not close, a blank
# line, a comment or a block header ends the chain. Heredoc bodies are left alone.
# --------------------------------------------------------------------------------------------

_ASSIGN = re.compile(
    r'^(?P<lead>\s*(?:[A-Za-z_][A-Za-z0-9_-]*|"(?:[^"\\]|\\.)*"))\s*=\s?(?P<rhs>.*)$'
)
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\s*$")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMENT = re.compile(r"#|//")


def _net_brackets(text: str) -> int:
    """Bracket balance of `text` outside quoted strings and comments."""
    if '"' in text:
        text = _STRING.sub("", text).partition('"')[0]  # an unclosed string runs to the end
    comment = _COMMENT.search(text)
    if comment:
        text = text[: comment.start()]
    opened = text.count("(") + text.count("[") + text.count("{")
    return opened - text.count(")") - text.count("]") - text.count("}")


def align(text: str) -> str:
    """Align `=` in chains of single-line attributes exactly as `terraform fmt` would.

    A heredoc belongs to the line that opens it (hclwrite sees it as one token), so an attribute
    holding a heredoc stays in its chain and its body is copied through untouched.
    """
    out: list[str] = []
    chain: list[tuple[str, str, list[str]]] = []
    heredoc: str | None = None

    def flush() -> None:
        width = max((len(lead) for lead, _, _ in chain), default=0)
        for lead, rhs, body in chain:
            out.append(f"{lead.ljust(width)} = {rhs}")
            out.extend(body)
        chain.clear()

    for line in text.split("\n"):
        if heredoc is not None:
            (chain[-1][2] if chain else out).append(line)
            if line.strip() == heredoc:
                heredoc = None
            continue
        match = _ASSIGN.match(line)
        opener = _HEREDOC.search(line)
        if match and _net_brackets(match["rhs"]) == 0:
            chain.append((match["lead"], match["rhs"], []))
        elif match:  # a value that spans lines ends the chain; one space either side of `=`
            flush()
            out.append(f"{match['lead']} = {match['rhs']}")
        else:
            flush()
            out.append(line)
        if opener:
            heredoc = opener.group(1)
    flush()
    return "\n".join(out)


_CLOSERS = frozenset(")]}")


def reindent(text: str) -> str:
    """Indent every line two spaces per open bracket, as `terraform fmt` does; a line starting
    with a closing bracket belongs to the outer level. A heredoc body moves with the line that
    opens it (its closing marker lines up with that line), so the `hcl` filter and a template
    author can write values without knowing how deep they sit."""
    out: list[str] = []
    depth = 0
    heredoc: str | None = None
    body: list[str] = []
    owner = ""
    for line in text.split("\n"):
        if heredoc is not None:
            body.append(line)
            if line.strip() == heredoc:
                marker = len(line) - len(line.lstrip(" "))
                for held in body:
                    if not held.strip():
                        out.append("")
                        continue
                    lead = len(held) - len(held.lstrip(" "))
                    out.append(owner + held[min(lead, marker) :])
                heredoc = None
                body = []
            continue
        stripped = line.strip()
        if not stripped:
            out.append("")
            continue
        level = depth - 1 if stripped[0] in _CLOSERS else depth
        owner = "  " * max(level, 0)
        out.append(owner + stripped)
        depth += _net_brackets(stripped)
        opener = _HEREDOC.search(stripped)
        if opener:
            heredoc = opener.group(1)
    return "\n".join(out)


def fmt(text: str) -> str:
    """Lay out HCL text as `terraform fmt` would: indentation, then `=` alignment."""
    return align(reindent(text))


# --------------------------------------------------------------------------------------------
# Decoding what python-hcl2 (>= 8) returns: string literals come back with their quotes and
# escapes, expressions as "${...}". `decode` undoes the quoting so that parsed values can be
# compared with what the model intended, as data.
# --------------------------------------------------------------------------------------------

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_SPECIAL = re.compile(r"[\\$%<]")  # a string without these reads as it is written


def _decode_heredoc(raw: str) -> str | Expr:
    lines = raw.split("\n")[1:-1]
    indent = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
    text = "".join(line[indent:] + "\n" for line in lines)
    if re.search(r"(?<![$%])[$%]\{", text.replace("$${", "").replace("%%{", "")):
        return Expr(raw)
    return text.replace("$${", "${").replace("%%{", "%{")


def decode_string(raw: str) -> str | Expr:
    """A quoted HCL string literal (or python-hcl2's quoted heredoc) as its value; a template
    (with `${`/`%{`) as the `Expr` it is. A heredoc spans lines, which a quoted string never
    does (its newlines are escapes), so a string that merely starts with `<<` is a string."""
    body = raw[1:-1]
    if not _SPECIAL.search(body):
        return body
    if body.startswith("<<") and "\n" in body:
        return _decode_heredoc(body)
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1]
            if nxt in _UNESCAPE:
                out.append(_UNESCAPE[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
            continue
        if body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1 : i + 3])
            i += 3
            continue
        if body.startswith("${", i) or body.startswith("%{", i):
            return Expr(raw)  # a template: compare as the expression it is
        out.append(char)
        i += 1
    return "".join(out)


def decode(value: object) -> object:
    """Turn python-hcl2 output back into plain Python values (strings unquoted)."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return decode_string(value)
        if value.startswith("${") and value.endswith("}"):
            return Expr(value[2:-1])
        return Expr(value)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return {
            str(decode(k)) if isinstance(k, str) else k: decode(v)
            for k, v in value.items()
            if k != "__is_block__"
        }
    return value
