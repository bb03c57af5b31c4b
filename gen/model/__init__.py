"""The model: every value of the generated module decided, as plain data for the templates.

`build(team)` turns a validated `TeamConfig` into a `Module`. Each block the templates write
(resource, data source, variable, output, `locals`, `terraform`) is a `Decl`: its address and
the values Python decided for it (names, counts, environment, policy statements, ...). The
templates in `templates/` hold the Terraform's shape and place these values through the `hcl`
filter; `gen.verify` parses the output back and finds every value of every `Decl` where `at`
says it belongs. Names come from `gen.names`, so the validator has already checked each against
its AWS limit.

The package mirrors `templates/`: `decl` holds the primitives; each template concern has one
module named like its template (`templates/job/capacity.tf.j2` <-> `gen/model/job/capacity.py`),
and `module.build` only composes them. Imports run one way: `module` -> concerns -> `decl`.
"""

from ..model.decl import PRESENT, Decl
from ..model.job import JobView
from ..model.module import Module, build

__all__ = ["PRESENT", "Decl", "JobView", "Module", "build"]
