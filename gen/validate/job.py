"""`Job(...)`: name, image, command, nodes, restarts, stop timeout, compute, data; and the
derived AWS names a team and a job make together."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from functools import lru_cache

from gen.errors import shown
from gen.names import job_names
from gen.spec import Ec2, Fargate, Job
from gen.validate.checker import MISSING, Checker
from gen.validate.config import Ec2Compute, FargateCompute, JobConfig
from gen.validate.ec2 import check_ec2
from gen.validate.env import check_env, check_secrets
from gen.validate.fargate import check_fargate
from gen.validate.limits import (
    IMAGE,
    INTEGER_TEXT,
    MAX_NODES,
    MAX_SPOT_STOP_TIMEOUT,
    MAX_STOP_TIMEOUT,
    MAX_TEAM_AND_JOB,
)
from gen.validate.s3 import check_s3

__all__ = ["check_job"]


def check_job(check: Checker, team: str | None, index: int, job: Job) -> JobConfig | None:
    path = f"jobs[{index}]"
    raw_name = job.fields.get("name")
    name = check.name(job, f"{path}.name", raw_name) if "name" in job.fields else None
    path = f"jobs[{index}]({name})" if name else path
    given = check.fields(job, path, ("name", "image", "command", "compute"))
    compute_node = given.get("compute")
    compute: FargateCompute | Ec2Compute | None = None
    if isinstance(compute_node, Fargate):
        compute = check_fargate(check, compute_node, f"{path}.compute")
    elif isinstance(compute_node, Ec2):
        compute = check_ec2(check, compute_node, f"{path}.compute")
    elif "compute" in given and compute_node is not MISSING:
        check.fail(
            job,
            f"{path}.compute",
            "must be Fargate(cpu=..., memory=...) or Ec2(instance_type=...), "
            f"got {shown(compute_node)}",
        )
    image = _image(check, job, f"{path}.image", given.get("image")) if "image" in given else None
    command = _command(check, job, f"{path}.command", given.get("command"))
    nodes = _nodes(check, job, f"{path}.nodes", given.get("nodes", 1))
    restarts = check.integer(job, f"{path}.max_restarts", given.get("max_restarts", 3), 0, 1000)
    spot = isinstance(compute, Ec2Compute) and compute.spot
    stop = check.integer(
        job,
        f"{path}.stop_timeout",
        given.get("stop_timeout", MAX_SPOT_STOP_TIMEOUT if spot else MAX_STOP_TIMEOUT),
        2,
        MAX_STOP_TIMEOUT,
    )
    if stop is not None and spot and stop > MAX_SPOT_STOP_TIMEOUT:
        check.fail(
            job,
            f"{path}.stop_timeout",
            f"must be at most {MAX_SPOT_STOP_TIMEOUT} on Spot, got {stop}: the two-minute "
            "interruption notice starts draining, and the stop (a last checkpoint) must finish "
            "before the instance goes",
        )
        stop = None
    keep_running = check.typed(
        job, f"{path}.keep_running", given.get("keep_running", False), bool, "True or False"
    )
    gpus = compute.instance.gpus if isinstance(compute, Ec2Compute) else None
    ppn_given = given.get("processes_per_node")
    ppn = check.integer(
        job,
        f"{path}.processes_per_node",
        ppn_given if ppn_given is not None else (gpus or 1),
        1,
        None,
    )
    if ppn is not None and gpus is not None and ppn > gpus:
        assert isinstance(compute, Ec2Compute)
        check.fail(
            job,
            f"{path}.processes_per_node",
            f"{shown(ppn)} processes per node is more than "
            f"the {gpus} GPUs of {compute.instance.name}; use at most {gpus}",
        )
    env = check_env(check, job, f"{path}.env", given.get("env", {}))
    secrets = check_secrets(check, job, f"{path}.secrets", given.get("secrets", {}), env)
    datasets = [
        check_s3(check, job, f"{path}.datasets[{i}]", item)
        for i, item in enumerate(
            check.items(job, f"{path}.datasets", given.get("datasets", ()), object, "S3(...)")
        )
    ]
    checkpoints = (
        check_s3(check, job, f"{path}.checkpoints", given["checkpoints"])
        if given.get("checkpoints") is not None
        else None
    )
    if isinstance(compute, Ec2Compute) and compute.spot and checkpoints is None:
        check.fail(
            job,
            f"{path}.compute.spot",
            "Spot instances are reclaimed at two minutes' "
            "notice: declare checkpoints=S3(...) so the job can resume, or use spot=False",
        )
    if name is not None and team is not None:
        ec2 = isinstance(compute, Ec2Compute)
        team_fault = _team_fault(team, ec2)
        for position, derived in enumerate(job_names(team, name).all(ec2)):
            problem = derived.problem()
            if problem and position not in team_fault:  # the team's own fault is reported once
                check.fail(
                    job,
                    f"{path}.name",
                    f"team {shown(team)} ({len(team)} characters) and job {shown(name)} "
                    f"({len(name)}) make {problem}; a team and a job name together have at "
                    f"most {MAX_TEAM_AND_JOB} characters: shorten the job name",
                )
                break
    parts = (name, image, command, nodes, restarts, stop, keep_running, ppn, env, secrets, compute)
    if (
        any(p is None for p in parts)
        or None in datasets
        or (given.get("checkpoints") is not None and checkpoints is None)
    ):
        return None
    assert name and image and command and nodes and compute is not None and env is not None
    assert restarts is not None and stop is not None and ppn is not None and secrets is not None
    return JobConfig(
        name=name,
        image_repository=image[0],
        image_version=image[1],
        image_is_digest=image[2],
        command=command,
        min_nodes=nodes[0],
        max_nodes=nodes[1],
        processes_per_node=ppn,
        max_restarts=restarts,
        stop_timeout=stop,
        keep_running=bool(keep_running),
        env=tuple(sorted(env.items())),
        secrets=tuple(sorted(secrets.items())),
        datasets=tuple(d for d in datasets if d is not None),
        checkpoints=checkpoints,
        compute=compute,
    )


def _nodes(check: Checker, job: Job, path: str, value: object) -> tuple[int, int] | None:
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        check.fail(
            job,
            path,
            f'must be a whole number from 1 to {MAX_NODES} or an elastic range "MIN:MAX", '
            f"got {shown(value)} (a string: write nodes={value.strip()} without quotes)",
        )
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"([0-9]{1,7}):([0-9]{1,7})", value)
        if not match or not 1 <= int(match[1]) <= int(match[2]) <= MAX_NODES:
            check.fail(
                job,
                path,
                f'{shown(value)} is not a valid elastic range: use "MIN:MAX" '
                f'with 1 <= MIN <= MAX <= {MAX_NODES}, e.g. "2:8"',
            )
            return None
        return int(match[1]), int(match[2])
    count = check.integer(job, path, value, 1, MAX_NODES)
    return None if count is None else (count, count)


def _command(check: Checker, job: Job, path: str, value: object) -> tuple[str, ...] | None:
    if value is MISSING:
        return None
    if isinstance(value, str):
        try:
            suggested = shlex.split(value)
        except ValueError:
            suggested = value.split()
        check.fail(
            job,
            path,
            f"must be a list of strings, got the string {shown(value)}; ecsgen does not split "
            f"it: write command={shown(suggested or ['python', 'train.py'])}",
        )
        return None
    words = check.items(job, path, value, str, "a string")
    if not isinstance(value, Sequence) or len(words) != len(value):  # not a list: reported
        return None
    if not words or not words[0] or words[0].startswith("-"):
        check.fail(
            job,
            path,
            f"must be a non-empty list of strings starting with the program "
            f'or "python" (torchrun would read a leading option as its own), got {shown(value)}',
        )
        return None
    if words[0] in ("python", "python3"):
        rest = words[1:]
        if not rest or (rest[0].startswith("-") and rest[0] != "-m"):
            check.fail(
                job,
                path,
                f"{shown(words)}: torchrun starts Python itself; give the script "
                '("python", "train.py", ...) or a module ("python", "-m", "pkg")',
            )
            return None
        return tuple(rest)
    return ("--no-python", *words)


@lru_cache(maxsize=64)
def _team_fault(team: str, ec2: bool) -> frozenset[int]:
    """Which of a job's derived names are too long or refused whatever the job's name (the
    team's own fault), by position."""
    return frozenset(i for i, d in enumerate(job_names(team, "j").all(ec2)) if d.problem())


def _image(check: Checker, job: Job, path: str, value: object) -> tuple[str, str, bool] | None:
    image = check.typed(job, path, value, str, "an image reference")
    if image is None:
        return None
    match = IMAGE.fullmatch(image)
    if not match:
        check.fail(
            job,
            path,
            f"{shown(image)} is not an image reference: REGISTRY/REPOSITORY:TAG "
            "or REGISTRY/REPOSITORY@sha256:DIGEST, in lowercase",
        )
        return None
    if not match["tag"] and not match["digest"]:
        check.fail(
            job,
            path,
            f"{shown(image)} has no tag or digest; pin the version the job was "
            f"tested with: {image}:1.0.0 or {image}@sha256:...",
        )
        return None
    if match["digest"]:
        return match["repository"], match["digest"], True
    return match["repository"], match["tag"], False
