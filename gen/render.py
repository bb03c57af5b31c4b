"""Rendering: the one Jinja environment, its filters, and a module's files as text.

Templates only place what `gen.model` decided. `.tf` output goes through `gen.hcl.align`, which
lays out `=` exactly as `terraform fmt` does, so the files pass `terraform fmt -check` as written.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jinja2
from jinja2.nodes import EvalContext
from markupsafe import Markup

from gen import hcl
from gen.errors import TemplateError
from gen.inputs import templates_dir
from gen.model import Decl, Module
from gen.model.readme import readme_view

__all__ = ["environment", "header", "render_module", "templates_dir"]


def _md(text: str) -> str:
    """Escape text for a Markdown table cell, as terraform-docs does."""
    return text.replace("|", "\\|").replace("_", "\\_").replace("\n", "<br/>")


def _anchor(kind: str, name: str) -> str:
    return f'<a name="{kind}_{name}"></a> [{_md(name)}](#{kind}\\_{_md(name)})'


BUNDLED_PREFIX = "bundled"
_PLACEABLE = (str, int, bool, type(None), hcl.Expr, hcl.Heredoc, Mapping, list, tuple)


def _hcl(value: object) -> Markup:
    """The one filter that places a value: the value as an HCL literal (strings quoted and
    escaped, lists and objects laid out, expressions as decided by the model)."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if not isinstance(value, _PLACEABLE):
        raise jinja2.TemplateRuntimeError(
            f"`| hcl` places model values (text, numbers, lists, objects), not a "
            f"{type(value).__name__}: name one of its fields"
        )
    return Markup(hcl.render(value))  # noqa: S704 - HCL, escaped by gen.hcl


_BARE = re.compile(r"[A-Za-z0-9_.:/@+ ()-]*")


@jinja2.pass_eval_context
def _finalize(eval_ctx: EvalContext, value: object) -> object:
    """What `{{ ... }}` may write into HCL: what `| hcl` produced (and macros built from it),
    numbers, and bare words (labels, names in comments: letters, digits, `_ . : / @ + - ( )` and
    spaces, which cannot end a string or a comment, nor open a template sequence). Anything else is
    a template placing a value without `| hcl`: an error naming the template and line.
    README templates (Markdown) are not HCL: their values are placed as they are."""
    if not eval_ctx.autoescape:
        return value
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Markup):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Markup(value)  # noqa: S704 - a number
    if isinstance(value, str) and _BARE.fullmatch(value):
        return Markup(value)  # noqa: S704 - only the characters above
    raise jinja2.TemplateRuntimeError(
        f"{value!r} is placed without `| hcl`; every value in HCL goes through that filter"
    )


def _writes_hcl(name: str | None) -> bool:
    return name is not None and not name.endswith(".md.j2")


class _Undefined(jinja2.StrictUndefined):
    """Strict, and saying which block or object lacks the value and what it has instead."""

    @property
    def _undefined_message(self) -> str:
        owner = self._undefined_obj
        name = self._undefined_name
        if isinstance(owner, Decl):
            return f"{owner.address} has no value {name!r} (it has: {', '.join(owner.args)})"
        if isinstance(owner, Mapping):
            return f"no value {name!r} here (there are: {', '.join(map(str, owner))})"
        return str(super()._undefined_message)


@cache
def environment(overrides: Path | None = None) -> jinja2.Environment:
    """The Jinja environment for one template folder, configured and compiled once a process:
    strict, no autoescape, our filters only.

    With `overrides`, that folder comes first: a file of the same name replaces the bundled one,
    and every bundled template stays reachable as `bundled/<name>`, so that an override can
    `{% extends "bundled/job/iam.tf.j2" %}` the very file it replaces.
    """
    bundled = jinja2.FileSystemLoader(templates_dir())
    loader: jinja2.BaseLoader = bundled
    if overrides is not None:
        loader = jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(overrides),
                bundled,
                jinja2.PrefixLoader({BUNDLED_PREFIX: bundled}),
            ]
        )
    env = jinja2.Environment(
        loader=loader,
        undefined=_Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Nothing is ever HTML-escaped: in the HCL templates autoescape only marks the values
        # that `_finalize` lets through as placed (see there); README templates are Markdown.
        autoescape=_writes_hcl,  # noqa: S701
        finalize=_finalize,
        auto_reload=False,
    )
    env.filters.update(
        {
            "hcl": _hcl,
            "md": _md,
            "anchor_input": lambda name: _anchor("input", name),
            "anchor_output": lambda name: _anchor("output", name),
        }
    )
    return env


def header(module: Module) -> str:
    """The first line of every file: generator, spec, and the override folder if one was used."""
    overrides = f", with template overrides from {module.templates}" if module.templates else ""
    return f"Code generated by {module.generator} from {module.spec}{overrides}. DO NOT EDIT."


def _shown(filename: str) -> str:
    """A template's path as messages show it: relative to the working directory when below it."""
    try:
        return Path(filename).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return filename


def _where(exc: BaseException) -> str:
    """`template:line` of the innermost template frame of a Jinja error's traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{_shown(exc.filename or exc.name or 'a template')}:{exc.lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return f"{_shown(frame.filename)}:{frame.lineno}"
    return "a template"


def render_module(module: Module, templates: Path | None = None) -> dict[str, str]:
    """Every file of the team's module, by file name, as the exact text to write.

    `templates` is a folder of overrides placed in front of the bundled templates. A template
    that fails to compile or to render is a `TemplateError` naming the template and line."""
    env = environment(templates.resolve() if templates else None)
    context: Mapping[str, object] = {
        "module": module,
        "header": Markup(header(module)),  # noqa: S704 - a comment line, ours
        "docs": readme_view(module),
    }
    try:
        files: dict[str, str] = {}
        for name in ("versions.tf", "variables.tf", "main.tf"):
            files[name] = env.get_template(f"{name}.j2").render(context)
        job_template = env.get_template("job.tf.j2")
        for job in module.jobs:
            files[job.file] = job_template.render({**context, "job": job})
        files["outputs.tf"] = env.get_template("outputs.tf.j2").render(context)
        files = {name: hcl.fmt(text) for name, text in files.items()}
        files["README.md"] = env.get_template("README.md.j2").render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{_where(exc)}: template syntax error: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc)}: {exc.message or exc}") from exc
    assert tuple(files) == module.files, (tuple(files), module.files)
    return files
