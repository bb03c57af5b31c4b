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

from gen import hcl, readme
from gen.completion import FAILURE_BUDGET
from gen.errors import TemplateError
from gen.inputs import templates_dir
from gen.model import (
    AWS_PROVIDER_VERSION,
    RESTART_ATTEMPT_PERIOD,
    TERRAFORM_VERSION,
    Decl,
    Module,
)
from gen.names import RDZV_PORT
from gen.validate import Ec2Compute

__all__ = ["environment", "header", "render_module", "templates_dir"]

REGISTRY_DOCS = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs"


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


def _job_rows(module: Module) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for job in module.jobs:
        config = job.config
        compute = config.compute
        nodes = (
            f"{config.min_nodes}:{config.max_nodes}" if config.elastic else str(config.max_nodes)
        )
        if isinstance(compute, Ec2Compute):
            instance = compute.instance
            kind = f"EC2 `{instance.name}` ({instance.gpus} x {instance.gpu_model})"
            kind += ", EFA" if compute.efa else ""
            kind += ", Spot" if compute.spot else ""
        else:
            kind = f"Fargate {compute.cpu} CPU units / {compute.memory} MiB"
        rule = f"0, or {config.min_nodes} and more" if config.elastic else "a whole number"
        rows.append(
            {
                "name": config.name,
                "compute": kind,
                "nodes": nodes,
                "ppn": config.processes_per_node,
                "endpoint": f"{job.names.rendezvous_host}:{RDZV_PORT}",
                "log_group": job.names.log_group,
                "leader": job.names.leader_service,
                "workers": job.names.workers_service,
                "nodes_variable": f"{job.names.ident}_nodes",
                "nodes_rule": rule,
                "keep_running": config.keep_running,
                "run_variable": job.completion.run_variable,
                "run_parameter": job.names.run_parameter,
            }
        )
    return rows


_PLACEHOLDERS = {"string": '"..."', "list(string)": '["..."]', "number": "0", "bool": "false"}


def _docs(module: Module) -> dict[str, object]:
    """terraform-docs style rows for the README's tables, and the usage snippet."""
    inputs = []
    usage = []
    for var in module.variables:
        required = "default" not in var.args
        type_ = str(var.args["type"])
        inputs.append(
            {
                "name": var.label,
                "description": str(var.args["description"]),
                "type": type_,
                "default": "n/a" if required else f"`{_hcl(var.args['default'])}`",
                "required": "yes" if required else "no",
            }
        )
        if required:
            usage.append(f"{var.label} = {_PLACEHOLDERS.get(type_, 'null')}")
    outputs = [
        {"name": out.label, "description": str(out.args["description"])} for out in module.outputs
    ]
    resources = sorted(
        (
            {
                "address": f"{decl.rtype}.{decl.label}",
                "kind": "resource" if decl.kind == "resource" else "data source",
                "url": f"{REGISTRY_DOCS}/"
                f"{'resources' if decl.kind == 'resource' else 'data-sources'}/"
                f"{decl.rtype.removeprefix('aws_')}",
            }
            for decls in module.decls().values()
            for decl in decls
            if decl.kind in ("resource", "data")
        ),
        key=lambda r: r["address"],
    )
    return {
        "inputs": sorted(inputs, key=lambda r: str(r["name"])),
        "outputs": sorted(outputs, key=lambda r: r["name"]),
        "resources": resources,
        "jobs": _job_rows(module),
        "usage": hcl.align("\n".join(usage)).split("\n") if usage else [],
        "module_name": module.team.name.replace("-", "_"),
        "topic": module.notifications.topic.name,
        "failure_budget": FAILURE_BUDGET,
        "failure_budget_ordinal": readme.ordinal(FAILURE_BUDGET),
        "mermaid": readme.mermaid(module),
        "costs": readme.cost_rows(module),
        "idle_tail_minutes": readme.IDLE_TAIL_MINUTES,
        "restart_period": RESTART_ATTEMPT_PERIOD,
        "terraform_version": TERRAFORM_VERSION,
        "aws_version": AWS_PROVIDER_VERSION,
    }


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
        "docs": _docs(module),
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
