"""Rendering: the one Jinja environment, its filters, and a module's files as text.

Templates only place what `gen.model` decided. `.tf` output goes through `gen.hcl.align`, which
lays out `=` exactly as `terraform fmt` does, so the files pass `terraform fmt -check` as written.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePath
from types import ModuleType

import jinja2
import jinja2.sandbox
from jinja2.nodes import EvalContext
from markupsafe import Markup

from . import hcl
from .errors import TemplateError, safe_text
from .inputs import templates_dir
from .model import Decl, Module
from .model.readme import readme_view

__all__ = [
    "SandboxBytecodeCache",
    "bundled_names",
    "environment",
    "header",
    "prepare",
    "render_module",
    "templates_dir",
]


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
# A bare word is written between these two characters (a C0 control, which `| hcl` always
# escapes) until `_placed` has checked where it landed and taken them out again.
_OPEN, _CLOSE = "\x00", "\x01"
_WORD = re.compile(r"[A-Za-z0-9_]*")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)\s*$")


@jinja2.pass_eval_context
def _finalize(eval_ctx: EvalContext, value: object) -> object:
    """What `{{ ... }}` may write into HCL: what `| hcl` produced (and macros built from it),
    numbers, and bare words: in a quoted string, a heredoc or a comment, letters, digits,
    `_ . : / @ + - ( )` and spaces (which cannot end a string or a comment, nor open a template
    sequence); anywhere else (where Terraform reads an expression) letters, digits and `_` only,
    the makings of a name (`_placed` checks where each landed). Anything else is a template
    placing a value without `| hcl`: an error naming the template and line. README templates
    (Markdown) are not HCL: their values are placed as they are."""
    if not eval_ctx.autoescape:
        return value
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, Markup):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Markup(value)  # noqa: S704 - a number
    if isinstance(value, str) and _BARE.fullmatch(value):
        if _WORD.fullmatch(value):
            return Markup(value)  # noqa: S704 - a name: fits anywhere
        return Markup(_OPEN + value + _CLOSE)  # noqa: S704 - only the characters above
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


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox: a template reaches only the values it is given, never
    Python's internals (no `__globals__`, no `os`), changes nothing it is given, and reads no
    file or environment variable (paths and modules are off limits too)."""

    _decided: dict[tuple[type, str, type], bool] = {}  # noqa: RUF012 - one cache, shared

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        # Jinja's answer depends on the types of `obj` and `value` and on `attr` only, so it is
        # kept per (type, name, type): a template reads model attributes thousands of times.
        key = (type(obj), attr, type(value))
        found = self._decided.get(key)
        if found is None:
            found = not (
                isinstance(obj, PurePath | ModuleType) or isinstance(value, PurePath | ModuleType)
            ) and bool(super().is_safe_attribute(obj, attr, value))
            self._decided[key] = found
        return found


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
    env = _Sandbox(
        loader=loader,
        undefined=_Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Nothing is ever HTML-escaped: in the HCL templates autoescape only marks the values
        # that `_finalize` lets through as placed (see there); README templates are Markdown.
        autoescape=_writes_hcl,
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


class SandboxBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's per-user bytecode cache, with keys of their own: code compiled for the sandbox
    routes every call and attribute through its checks, so it must never be confused with the
    code a plain environment (an older ecsgen) compiled from the same source and stored there."""

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return "ecsgen-sandbox-" + super().get_cache_key(name, filename)


def bundled_names() -> list[str]:
    """The bundled templates' names (`job/iam.tf.j2`, ...), sorted."""
    return sorted(jinja2.FileSystemLoader(templates_dir()).list_templates())


def prepare(overrides: Path | None = None, compile_all: bool = False) -> None:
    """Check the override folder (`gen.overrides`: a mistake is one `TemplateError` here, before
    any team renders, whatever `--jobs`), keep compiled templates between runs, and with
    `compile_all` compile every template now (before workers fork, so each inherits them).

    Jinja's bytecode cache (a per-user folder in the temp directory, keyed by template name and
    source checksum) keeps compiled templates: compiling them is most of a one-team run after
    the imports."""
    folder = overrides.resolve() if overrides else None
    env = environment(folder)
    bundled = bundled_names()
    if folder is not None:
        from .overrides import check_overrides, override_names  # noqa: PLC0415

        check_overrides(env, folder, bundled)
    if env.bytecode_cache is None:
        env.bytecode_cache = SandboxBytecodeCache()
    if compile_all:
        names = list(bundled)
        if folder is not None:
            names += [f"{BUNDLED_PREFIX}/{name}" for name in bundled]
            names += [name for name in override_names(folder) if name not in bundled]
        try:
            for name in names:
                env.get_template(name)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{_where(exc)}: {exc.message or exc}") from exc


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
        files = {name: hcl.fmt(_placed(name, text, module)) for name, text in files.items()}
        files["README.md"] = env.get_template("README.md.j2").render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{_where(exc)}: template syntax error: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"{_where(exc)}: no template {exc.name!r}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc)}: {exc.message or exc}") from exc
    except TemplateError:
        raise
    except Exception as exc:
        raise TemplateError(
            f"{_where(exc)}: the template raised {type(exc).__name__}: {safe_text(exc)}"
        ) from exc
    assert tuple(files) == module.files, (tuple(files), module.files)
    return files


def _placed(name: str, text: str, module: Module) -> str:
    """`text` without the marks around bare words, once each is found where it may stand: in a
    quoted string, a heredoc or a comment. A bare word that is not a name, placed where
    Terraform reads an expression (`kms_key_id = {{ job.name }}` writes `bert-finetune`, which
    Terraform reads as a subtraction), is a `TemplateError` naming the file and line."""
    if _OPEN not in text:
        return text
    lines = text.split("\n")
    heredoc: str | None = None
    for number, line in enumerate(lines, 1):
        if heredoc is not None:  # text, as in a quoted string
            if line.strip() == heredoc:
                heredoc = None
            lines[number - 1] = line.replace(_OPEN, "").replace(_CLOSE, "")
            continue
        if _OPEN in line:
            where = _code_marks(line)
            if where is not None:
                word = line[where + 1 : line.index(_CLOSE, where)]
                overrides = (
                    f" (template overrides from {module.templates})" if module.templates else ""
                )
                raise TemplateError(
                    f"{module.team.name}/{name}:{number}: {word!r} is placed without `| hcl` "
                    f"where Terraform reads an expression{overrides}; write {{{{ value | hcl }}}} "
                    "(a quoted string), or place it inside quotes or a comment"
                )
            lines[number - 1] = line.replace(_OPEN, "").replace(_CLOSE, "")
        found = _HEREDOC.search(line)
        if found and _outside_strings(line, found.start()):
            heredoc = found[1]
    return "\n".join(lines)


def _code_marks(line: str) -> int | None:
    """The offset of the first marked bare word of `line` that stands in code (not in a quoted
    string or a comment), or None. Strings may hold `${ ... }` with strings inside."""
    stack: list[str] = []  # "s": in a string; "i": in an interpolation (code)
    i = 0
    end = len(line)
    while i < end:
        char = line[i]
        if stack and stack[-1] == "s":
            if char == "\\":
                i += 2
                continue
            if char == '"':
                stack.pop()
            elif line.startswith(("${", "%{"), i):
                stack.append("i")
                i += 2
                continue
        else:
            if char == _OPEN:
                return i
            if char == '"':
                stack.append("s")
            elif char == "#" or line.startswith("//", i):
                return None  # the rest of the line is a comment
            elif char == "}" and stack:
                stack.pop()
            elif char == "{" and stack:
                stack.append("i")
        i += 1
    return None


def _outside_strings(line: str, offset: int) -> bool:
    """Whether `offset` of `line` lies outside quoted strings (for a heredoc opener)."""
    return line.count('"', 0, offset) % 2 == 0
