"""python-hcl2's `loads`, built for parsing many files in one process.

`hcl2.loads` is lark's LALR parse (about half the time) followed by python-hcl2's rule transformer
and serializer. The grammar, the post-lexer, the transformer and the serializer used here are
python-hcl2's own, so the data returned is exactly what `hcl2.loads` returns (a test compares them
on every generated file). Two things differ, both outside what the result depends on:

* the parser is built once per process (and forked into the parse-back workers ready-made);
* it does not record line and column positions (`propagate_positions=False`): python-hcl2 only
  uses them for the `__start_line__`/`__end_line__` metadata, which `loads` does not emit by
  default. This saves about a third of the parse.

Everything is imported on first use, so a command that parses nothing never loads lark.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["loads", "parser"]


@cache
def parser() -> Lark:
    """The LALR parser of python-hcl2's grammar, without position tracking; built once."""
    import hcl2.parser  # noqa: PLC0415 - lark costs ~0.1 s to import; only parse-back needs it
    from hcl2.postlexer import PostLexer  # noqa: PLC0415
    from lark import Lark  # noqa: PLC0415

    return Lark.open(
        "hcl2.lark",
        rel_to=hcl2.parser.__file__,
        parser="lalr",
        propagate_positions=False,
        postlex=PostLexer(),
        cache=True,  # the built tables are kept in the temp folder, keyed by grammar and options
    )


def loads(text: str) -> dict[str, Any]:
    """The same data as `hcl2.loads(text)`."""
    from hcl2.transformer import RuleTransformer  # noqa: PLC0415

    # python-hcl2 appends a newline too: its grammar needs one before the end of the input.
    tree = parser().parse(text + "\n")
    data = RuleTransformer().transform(tree).serialize()
    assert isinstance(data, dict)
    return data
