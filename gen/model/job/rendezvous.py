"""`job/rendezvous.tf.j2`: how the nodes of one job find each other: the leader's Cloud Map name
and the `PET_*` contract torchrun reads (endpoint, run id, node counts, timeouts)."""

from __future__ import annotations

from ...hcl import Expr, interpolate
from ...model.decl import Decl, ref, resource
from ...names import RDZV_PORT, JobNames
from ...validate import JobConfig

__all__ = [
    "RDZV_JOIN_TIMEOUT",
    "WORKER_READ_TIMEOUT",
    "discovery",
    "rendezvous_env",
    "rendezvous_id",
]

RDZV_JOIN_TIMEOUT = 1800  # GPU capacity starts from zero: instances boot and pull large images


# Workers retry the leader's store this long. While a replaced leader's name is unregistered,
# the VPC resolver caches NXDOMAIN for minutes (not the record's 10 s TTL).
WORKER_READ_TIMEOUT = 900


def nodes_expr(job: JobConfig, names: JobNames) -> Expr:
    var = ref("var", f"{names.ident}_nodes")
    if job.elastic:
        return interpolate(f"{job.min_nodes}:", var)
    return Expr(f"tostring({var.text})")


def rendezvous_id(job: JobConfig, names: JobNames) -> str | Expr:
    """One rendezvous per run: `<team>-<job>-<run id>` (keep_running jobs have no runs)."""
    if job.keep_running:
        return names.rendezvous_id
    return interpolate(f"{names.rendezvous_id}-", ref("var", f"{names.ident}_run"))


def rendezvous_env(job: JobConfig, names: JobNames, leader: bool) -> dict[str, object]:
    """torchrun's configuration (`PET_*`): the leader hosts the c10d store, workers reach it
    through the leader's Cloud Map name."""
    endpoint_host = "localhost" if leader else names.rendezvous_host
    conf = (
        f"is_host=1,join_timeout={RDZV_JOIN_TIMEOUT}"
        if leader
        else f"is_host=0,join_timeout={RDZV_JOIN_TIMEOUT},read_timeout={WORKER_READ_TIMEOUT}"
    )
    return {
        "PET_NNODES": nodes_expr(job, names),
        "PET_NPROC_PER_NODE": str(job.processes_per_node),
        "PET_RDZV_BACKEND": "c10d",
        "PET_RDZV_ENDPOINT": f"{endpoint_host}:{RDZV_PORT}",
        "PET_RDZV_ID": rendezvous_id(job, names),
        "PET_RDZV_CONF": conf,
        "PET_MAX_RESTARTS": str(job.max_restarts),
    }


def discovery(names: JobNames) -> Decl:
    """The leader's Cloud Map service: workers reach its c10d store by this name."""
    return resource(
        "aws_service_discovery_service",
        names.ident,
        name=names.discovery,
        description=f"The leader of job {names.prefix}: workers reach its c10d store here",
    )
