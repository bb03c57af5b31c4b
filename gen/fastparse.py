"""python-hcl2's parser, built for parsing many files in one process.

`hcl2.loads` is lark's LALR parse with python-hcl2's grammar and post-lexer, then python-hcl2's
rule transformer and serializer (more than half the time). This module has two readings, both
on python-hcl2's own grammar and post-lexer, with the parser built once per process (its
tables cached by lark in the temp folder) and without line and column tracking
(`propagate_positions=False`: python-hcl2 only uses positions for metadata `loads` does not emit):

* `loads(text)`: exactly `hcl2.loads(text)` (python-hcl2's transformer and serializer);
* `data(text)`: what the parse-back compares, read in the same pass as the parse (lark's inline
  transformer `_Reader`: no parse tree, no rule objects), equal to `gen.hcl.decode` of
  `hcl2.loads` the way `gen.verify` compares (tests check it on every generated file, on hostile
  strings and on each construct of the grammar). What it would not reproduce exactly it hands to
  `loads`. The LALR loop and the lexer are leaner than lark's (`_fast_loop`, `_FastLexer`: the
  same tables, patterns and callbacks, python-hcl2's post-lexer pass folded in); a text that
  does not parse is parsed again by `loads`, which raises lark's error with line and column.
  About 5 times faster than `loads` on the generated modules.

Everything is imported on first use, so a command that parses nothing never loads lark.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from .hcl import Expr, decode_string

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["Unsupported", "data", "loads", "parser"]


def _open(transformer: object = None) -> Lark:
    """An LALR parser of python-hcl2's grammar with its post-lexer, without position tracking,
    and with `transformer` as lark's inline transformer if one is given."""
    import hcl2.parser  # noqa: PLC0415 - lark costs ~0.1 s to import; only parse-back needs it
    from hcl2.postlexer import PostLexer  # noqa: PLC0415
    from lark import Lark  # noqa: PLC0415

    return Lark.open(
        "hcl2.lark",
        rel_to=hcl2.parser.__file__,
        parser="lalr",
        propagate_positions=False,
        postlex=PostLexer(),
        transformer=transformer,
        cache=True,  # the built tables are kept in the temp folder, keyed by grammar and options
    )


@cache
def parser() -> Lark:
    """The LALR parser of python-hcl2's grammar, without position tracking; built once."""
    return _open()


def loads(text: str) -> dict[str, Any]:
    """The same data as `hcl2.loads(text)`."""
    from hcl2.transformer import RuleTransformer  # noqa: PLC0415

    # python-hcl2 appends a newline too: its grammar needs one before the end of the input.
    tree = parser().parse(text + "\n")
    data = RuleTransformer().transform(tree).serialize()
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------------------------
# The fast path of the parse-back: python-hcl2's grammar and lexer, read straight into the data
# `gen.verify` compares (`data(text)`), without python-hcl2's rule objects and serializer.
# --------------------------------------------------------------------------------------------


class Unsupported(Exception):
    """A construct whose python-hcl2 reading the fast path does not reproduce: read the file
    with python-hcl2's own transformer instead."""


class _Node:
    """A parsed value: its span in the text and, when it is a value rather than an expression,
    the value (python-hcl2 returns literals, strings, tuples and objects as data, everything
    else as the expression's text)."""

    __slots__ = ("data", "end", "start")

    def __init__(self, start: int, end: int, data: object) -> None:
        self.start = start
        self.end = end
        self.data = data


_EXPRESSION = object()  # `_Node.data` of an expression: its value is its text
_NEWLINE = object()  # `_Node.data` of newlines and comments between the parts of something
_LITERALS = {"true": True, "false": False, "null": None}
_COMMENT = re.compile(r"#|//|/\*")
# An interpolation python-hcl2 writes back exactly as it is written: a plain reference.
_PLAIN_REFERENCE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-\[\]*]*")


def _start(child: Any) -> int:
    return child.start if isinstance(child, _Node) else child.start_pos


def _end(child: Any) -> int:
    return child.end if isinstance(child, _Node) else child.end_pos


class _Reader:
    """lark callbacks (an inline transformer: no parse tree is built) that turn python-hcl2's
    grammar straight into `gen.verify`'s data: what `gen.hcl.decode` makes of `hcl2.loads`, with
    each expression's text as written rather than as python-hcl2 writes it back (`gen.verify`
    compares expressions without their spaces and commas, where the two agree). Anything the
    reading would not reproduce raises `Unsupported`."""

    def __init__(self) -> None:
        self.text = ""
        self.comments: list[int] = []

    # Anything else (operators, calls, traversals, conditionals, for expressions): an expression.
    def __default__(self, rule: str, children: list[Any], meta: object) -> _Node | _Inline:
        if rule[0] == "_":
            return _Inline(children)  # lark splices a `_rule`'s children into its parent's
        return _Node(_start(children[0]), _end(children[-1]), _EXPRESSION)

    def _value(self, node: _Node) -> object:
        if node.data is _EXPRESSION:
            if self.comments and any(node.start <= at < node.end for at in self.comments):
                raise Unsupported("a comment inside an expression")
            return Expr(self.text[node.start : node.end])
        return node.data

    def new_line_or_comment(self, children: list[Any]) -> _Node:
        for token in children:
            if _COMMENT.match(token.value):
                self.comments.append(token.start_pos)
        return _Node(children[0].start_pos, children[-1].end_pos, _NEWLINE)

    def binary_operator(self, children: list[Any]) -> _Node:
        # python-hcl2's post-lexer merges the newlines (and a comment) before an operator into it.
        token = children[0]
        if _COMMENT.search(token.value):
            self.comments.append(token.start_pos)
        return _Node(token.start_pos, token.end_pos, _EXPRESSION)

    def conditional(self, children: list[Any]) -> _Node:
        self.binary_operator(children[1:2])  # the `?`, merged like an operator
        return _Node(_start(children[0]), _end(children[-1]), _EXPRESSION)

    def identifier(self, children: list[Any]) -> _Node:
        return _Node(children[0].start_pos, children[0].end_pos, _EXPRESSION)

    keyword = identifier

    def literal_value(self, children: list[Any]) -> _Node:
        token = children[0]
        return _Node(token.start_pos, token.end_pos, _LITERALS[token.value])

    def int_lit(self, children: list[Any]) -> _Node:
        token = children[0]
        return _Node(token.start_pos, token.end_pos, int(token.value))

    def float_lit(self, children: list[Any]) -> _Node:
        token = children[0]
        if "e" in token.value.lower():
            raise Unsupported("a float in scientific notation")
        return _Node(token.start_pos, token.end_pos, float(token.value))

    def string(self, children: list[Any]) -> _Node:
        start, end = children[0].start_pos, children[-1].end_pos
        return _Node(start, end, decode_string(self.text[start:end]))

    def interpolation(self, children: list[Any]) -> _Node:
        start, end = children[0].start_pos, children[-1].end_pos
        if not _PLAIN_REFERENCE.fullmatch(self.text, _start(children[1]), _end(children[1])):
            raise Unsupported("an interpolation python-hcl2 would write back differently")
        return _Node(start, end, _EXPRESSION)

    def _directive(self, children: list[Any]) -> _Node:
        raise Unsupported("a template directive")

    template_if_start = template_else = template_endif = _directive
    template_for_start = template_endfor = template_string = _directive

    def heredoc_template(self, children: list[Any]) -> _Node:
        token = children[0]
        raw = token.value.rstrip("\r\n\t ")
        return _Node(token.start_pos, token.end_pos, decode_string(f'"{raw}"'))

    heredoc_template_trim = heredoc_template

    def unary_op(self, children: list[Any]) -> _Node:
        operator, operand = children
        start, end = operator.start_pos, operand.end
        value = operand.data
        if operator.value == "-" and type(value) in (int, float):
            return _Node(start, end, -value)  # python-hcl2 reads `-3` as a number
        return _Node(start, end, _EXPRESSION)

    def expr_term(self, children: list[Any]) -> _Node:
        if len(children) == 1:
            node: _Node = children[0]
            return node
        return _Node(children[0].start_pos, children[-1].end_pos, _EXPRESSION)  # ( ... )

    def _tuple(self, children: list[Any]) -> _Node:
        items = [
            self._value(c) for c in children if isinstance(c, _Node) and c.data is not _NEWLINE
        ]
        return _Node(children[0].start_pos, children[-1].end_pos, items)

    def _object(self, children: list[Any]) -> _Node:
        items: dict[object, object] = {}
        for child in children:
            if isinstance(child, tuple):
                items[child[0]] = child[1]
        return _Node(children[0].start_pos, children[-1].end_pos, items)

    def object_elem_key(self, children: list[Any]) -> _Node:
        child = children[0]
        if isinstance(child, _Node):
            return child
        return _Node(child.start_pos, child.end_pos, _EXPRESSION)  # a keyword

    def _key(self, node: _Node) -> str:
        """An object key or block label: a string's value, else the text (python-hcl2's keys
        are strings: `5 = 1` has the key "5")."""
        value = self._value(node)
        return value if isinstance(value, str) else self.text[node.start : node.end]

    def object_elem(self, children: list[Any]) -> tuple[object, object]:
        return self._key(children[0]), self._value(children[2])

    def attribute(self, children: list[Any]) -> tuple[object, object]:
        return self.text[children[0].start : children[0].end], self._value(children[2])

    def block(self, children: list[Any]) -> _Block:
        names = [self._key(c) for c in children if isinstance(c, _Node) and c.data is not _NEWLINE]
        body = next(c for c in children if isinstance(c, dict))
        return _Block(names, body)

    def body(self, children: list[Any]) -> dict[object, object]:
        body: dict[object, object] = {}
        for child in children:
            if isinstance(child, tuple):
                body[child[0]] = child[1]
            elif isinstance(child, _Block):
                nested: object = child.body
                for label in reversed(child.names[1:]):
                    nested = {label: nested}
                entries = body.setdefault(child.names[0], [])
                assert isinstance(entries, list)
                entries.append(nested)
        return body

    def start(self, children: list[Any]) -> dict[object, object]:
        found: dict[object, object] = children[0]
        return found

    def __getattr__(self, name: str) -> Any:
        # The rules named like Python's builtins (lark looks callbacks up by rule name).
        if name == "tuple":
            return self._tuple
        if name == "object":
            return self._object
        raise AttributeError(name)


class _Inline:
    __slots__ = ("children",)

    def __init__(self, children: list[Any]) -> None:
        self.children = children


class _Block:
    __slots__ = ("body", "names")

    def __init__(self, names: list[str], body: dict[object, object]) -> None:
        self.names = names
        self.body = body


@cache
def _reader() -> tuple[Lark, _Reader]:
    """python-hcl2's grammar and post-lexer with `_Reader` as lark's inline transformer."""
    reader = _Reader()
    lark = _open(reader)
    _drive_fast(lark)
    _lex_fast(lark)
    return lark, reader


class _LexFailed(Exception):
    """No terminal matches here: lark's own lexer says how (`data` parses again with it)."""


def _lex_fast(lark: Lark) -> None:
    """Lex with `lark`'s own contextual lexers' patterns and callbacks in one loop, python-hcl2's
    post-lexer pass folded in (`_FastLexer`), where the pieces are the ones this was written
    against; otherwise leave lark's lexer in place. Tokens carry their offsets, not line and
    column (the reader needs only offsets; an error is reported by lark's own parse)."""
    from hcl2.postlexer import PostLexer  # noqa: PLC0415
    from lark.lexer import BasicLexer, ContextualLexer  # noqa: PLC0415
    from lark.parser_frontends import PostLexConnector  # noqa: PLC0415

    frontend: Any = lark.parser
    connector = getattr(frontend, "lexer", None)
    if not (
        type(connector) is PostLexConnector
        and type(connector.postlexer) is PostLexer
        and type(connector.lexer) is ContextualLexer
        and all(type(sub) is BasicLexer for sub in connector.lexer.lexers.values())
    ):
        return
    frontend.lexer = _FastLexer(connector.lexer)


class _FastLexer:
    """lark's `ContextualLexer` followed by python-hcl2's `PostLexer` (which merges the newlines
    before a binary operator or `?` into it), as one generator."""

    def __init__(self, contextual: Any) -> None:
        from hcl2.postlexer import OPERATOR_TYPES  # noqa: PLC0415
        from lark.lexer import Token  # noqa: PLC0415

        self.operators = OPERATOR_TYPES
        self.token = Token
        self.states: dict[Any, tuple[list[Any], dict[str, Any], frozenset[str]]] = {}
        for state, sub in contextual.lexers.items():
            scanner = sub.scanner  # builds the patterns and `sub.callback`
            ignore = frozenset(sub.ignore_types)
            assert not ignore & set(sub.callback), "lark calls back on ignored terminals"
            self.states[state] = (scanner._mres, dict(sub.callback), ignore)

    def lex(self, lexer_state: Any, parser_state: Any) -> Any:
        text, pos, end = lexer_state.text.text, lexer_state.text.start, lexer_state.text.end
        stack = parser_state.state_stack
        states, operators = self.states, self.operators
        new: Any = self.token._future_new  # Token without the keyword checks of Token(...)
        pending = None
        while pos < end:
            patterns, callbacks, ignore = states[stack[-1]]
            for pattern in patterns:
                match = pattern.match(text, pos, end)
                if match:
                    break
            else:
                raise _LexFailed
            kind = match.lastgroup
            start, pos = pos, match.end()
            if kind in ignore:
                continue
            token = new(kind, match.group(0), start, None, None, None, None, pos)
            if kind in callbacks:
                token = callbacks[kind](token)
            if token.type == "NL_OR_COMMENT":
                if pending is not None:
                    yield pending
                pending = token
                continue
            if pending is not None:
                if token.type in operators:
                    token = token.update(value=str(pending) + str(token))
                else:
                    yield pending
                pending = None
            yield token
        if pending is not None:
            yield pending


def _drive_fast(lark: Lark) -> None:
    """Run `lark`'s LALR tables with a leaner loop (`_fast_loop`) where its internals are the
    ones this was written against; otherwise leave lark's own loop in place."""
    from lark.parsers.lalr_parser import _Parser  # noqa: PLC0415

    frontend: Any = lark.parser
    lalr = getattr(frontend, "parser", None)
    base = getattr(lalr, "parser", None)
    if type(base) is not _Parser or any(isinstance(k, str) for k in base.callbacks):
        return  # another lark, or token callbacks: keep lark's loop

    class FastParser(_Parser):
        tables: dict[Any, _Row] | None = None

        def parse_from_state(self, state: Any, last_token: Any = None) -> Any:
            if last_token is not None or state.value_stack:
                return super().parse_from_state(state, last_token)
            if self.tables is None:
                self.tables = _tables(state.parse_conf)
            return _fast_loop(state, self.tables)

    assert lalr is not None
    lalr.parser = FastParser(base.parse_table, base.callbacks, base.debug)


_Row = dict[str, tuple[bool, Any]]


def _tables(parse_conf: Any) -> dict[Any, _Row]:
    """lark's parse table with each reduction as (size, rule name, callback or None)."""
    from lark.parsers.lalr_analysis import Shift  # noqa: PLC0415

    reductions: dict[Any, tuple[int, str, Any]] = {}

    def reduction(rule: Any) -> tuple[int, str, Any]:
        if rule not in reductions:
            size = len(rule.expansion)
            only = rule.expansion[0] if size == 1 else None
            passes_through = (  # `?rule: other_rule`: lark hands the child on unchanged
                rule.options.expand1
                and only is not None
                and not only.is_term
                and not only.name.startswith("_")
            )
            callback = None if passes_through else parse_conf.callbacks[rule]
            reductions[rule] = (size, rule.origin.name, callback)
        return reductions[rule]

    return {
        state: {
            symbol: (True, arg) if action is Shift else (False, reduction(arg))
            for symbol, (action, arg) in actions.items()
        }
        for state, actions in parse_conf.states.items()
    }


def _fast_loop(state: Any, tables: dict[Any, _Row]) -> Any:
    """lark's `parse_from_state` and `ParserState.feed_token` in one loop: no per-token asserts
    and rule comparisons, reductions looked up in plain tuples, and the pass-through reductions
    of the expression precedence ladder skipped. The end of input goes through lark's own
    `feed_token`, and so does an unexpected token (it raises lark's `UnexpectedToken`; `data`
    then reads the text again with `loads` for the error with its line and column)."""
    from lark.lexer import Token  # noqa: PLC0415

    states = state.state_stack
    values = state.value_stack
    token = None
    for token in state.lexer.lex(state):
        kind = token.type
        while True:
            try:
                shift, arg = tables[states[-1]][kind]
            except KeyError:
                state.feed_token(token)  # raises lark's UnexpectedToken
                raise
            if shift:
                states.append(arg)
                values.append(token)
                break
            size, origin, callback = arg
            if size:
                children = values[-size:]
                del states[-size:]
                del values[-size:]
            else:
                children = []
            states.append(tables[states[-1]][origin][1])
            values.append(callback(children) if callback is not None else children[0])
    end = Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
    return state.feed_token(end, True)


def data(text: str) -> dict[str, object]:
    """What `gen.verify` compares: `gen.hcl.decode` of `hcl2.loads(text)` without the `__`
    metadata keys, with expressions as written (equal to python-hcl2's text but for spaces and
    commas, which `gen.verify` ignores). Read in one pass; a construct the fast reading does not
    reproduce exactly (comments inside expressions, template directives, interpolations other
    than plain references, floats in scientific notation) is read through python-hcl2's own
    transformer instead. A syntax error raises lark's exception, as `hcl2.loads` does."""
    lark, reader = _reader()
    reader.text = text + "\n"
    reader.comments = []
    try:
        found = lark.parse(reader.text)
    except Exception:  # noqa: BLE001 - whatever it is, python-hcl2's own reading decides
        # Unsupported, or the text does not parse: `loads` raises lark's error with its line
        # and column (the fast lexer keeps offsets only).
        from .hcl import decode  # noqa: PLC0415

        decoded = decode({k: v for k, v in loads(text).items() if not k.startswith("__")})
        assert isinstance(decoded, dict)
        return decoded
    finally:
        reader.text = ""
    assert isinstance(found, dict)
    return found
