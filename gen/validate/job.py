"""`Job(...)`: name, image, command, nodes, restarts, stop timeout, compute, data; and the
derived AWS names a team and a job make together."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from functools import lru_cache

from ..errors import shown
from ..names import job_names
from ..spec import Ec2, Fargate, Job
from ..validate.checker import MISSING, Checker, control_reason
from ..validate.config import Ec2Compute, FargateCompute, JobConfig
from ..validate.ec2 import check_ec2
from ..validate.env import check_env, check_secrets
from ..validate.fargate import check_fargate
from ..validate.limits import (
    CAPACITY_BLOCK_MINUTES_BEFORE_END,
    CUDA_ONLY_ENV,
    DURATION,
    DURATION_UNITS,
    IMAGE,
    INTEGER_TEXT,
    MAX_FAILURES,
    MAX_NODES,
    MAX_RUNTIME_RANGE,
    MAX_RUNTIME_TEXT,
    MAX_SPOT_STOP_TIMEOUT,
    MAX_STOP_TIMEOUT,
    MAX_TEAM_AND_JOB,
    REGISTRY_SECRET_ARN,
)
from ..validate.s3 import check_s3
from ..validate.volumes import check_volumes

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
    # One process per GPU, or per NeuronCore on Trainium (torchrun's ranks there are
    # NeuronCores: 32 on a trn1.32xlarge, 64 logical ones on a trn2.48xlarge).
    gpus = compute.instance.accelerators if isinstance(compute, Ec2Compute) else None
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
        what = "NeuronCores" if compute.instance.neuron else "GPUs"
        check.fail(
            job,
            f"{path}.processes_per_node",
            f"{shown(ppn)} processes per node is more than "
            f"the {gpus} {what} of {compute.instance.name}; use at most {gpus}",
        )
    env = check_env(check, job, f"{path}.env", given.get("env", {}))
    if env and isinstance(compute, Ec2Compute) and compute.instance.neuron:
        for key in sorted(k for k in env if k.startswith(CUDA_ONLY_ENV)):
            check.fail(
                job,
                f"{path}.env[{shown(key)}]",
                f"{compute.instance.name} has Trainium (Neuron) devices and no NVIDIA GPU: "
                f"CUDA, NCCL and NVIDIA settings ({', '.join(p + '*' for p in CUDA_ONLY_ENV)}) "
                "do nothing there (Neuron's collectives are not NCCL); use NEURON_* settings",
            )
            env = None
            break
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
    for i, dataset in enumerate(datasets):
        if dataset is not None and dataset.per_run:
            check.fail(
                job,
                f"{path}.datasets[{i}].per_run",
                "only checkpoints can be per run: a dataset is read by every run",
            )
    if checkpoints is not None and checkpoints.per_run and keep_running:
        check.fail(
            job,
            f"{path}.checkpoints.per_run",
            "a keep_running job has no runs: drop per_run, or keep_running",
        )
    failures = check.integer(
        job, f"{path}.max_failures", given.get("max_failures", 3), 1, MAX_FAILURES
    )
    runtime = (
        _duration(check, job, f"{path}.max_runtime", given["max_runtime"])
        if given.get("max_runtime") is not None
        else None
    )
    if runtime is not None and keep_running:
        check.fail(
            job,
            f"{path}.max_runtime",
            "a keep_running job has no runs to time out: drop max_runtime, or keep_running",
        )
    if isinstance(compute, Ec2Compute) and compute.spot and checkpoints is None:
        check.fail(
            job,
            f"{path}.compute.spot",
            "Spot instances are reclaimed at two minutes' "
            "notice: declare checkpoints=S3(...) so the job can resume, or use spot=False",
        )
    reservation = compute.reservation if isinstance(compute, Ec2Compute) else None
    if reservation and reservation.capacity_block and checkpoints is None:
        check.fail(
            job,
            f"{path}.compute.reservation",
            f"a Capacity Block's instances are terminated {CAPACITY_BLOCK_MINUTES_BEFORE_END} "
            "minutes before it ends: declare checkpoints=S3(...) so the next block can resume "
            "the run",
        )
    held = reservation.instances if reservation else None
    if held is not None and nodes is not None and nodes[1] > held:
        check.fail(
            job,
            f"{path}.nodes",
            f"the job asks for up to {nodes[1]} nodes and its reservation holds {held} "
            f"instances (one node each): use at most {held}",
        )
        nodes = None
    volumes = check_volumes(
        check, job, f"{path}.volumes", given.get("volumes", ()), isinstance(compute, FargateCompute)
    )
    registry = None
    if given.get("registry_credentials") is not None:
        registry = _registry_credentials(
            check, job, path, given["registry_credentials"], image[0] if image else None
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
        or failures is None
        or (given.get("max_runtime") is not None and runtime is None)
        or None in datasets
        or (given.get("checkpoints") is not None and checkpoints is None)
        or volumes is None
        or (given.get("registry_credentials") is not None and registry is None)
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
        max_failures=failures,
        max_runtime=runtime,
        volumes=volumes,
        registry_credentials=registry,
    )


def _duration(check: Checker, job: Job, path: str, value: object) -> int | None:
    """A duration such as "72h", "90m", "7d" or "1d12h", in seconds, within the limits."""
    text = check.typed(job, path, value, str, 'a duration such as "72h"')
    if text is None:
        return None
    match = DURATION.fullmatch(text)
    seconds = (
        sum(int(match[unit] or 0) * factor for unit, factor in DURATION_UNITS.items())
        if match and text
        else None
    )
    low, high = MAX_RUNTIME_RANGE
    if seconds is None or not low <= seconds <= high:
        check.fail(
            job,
            path,
            f"{shown(text)} is not a duration ecsgen accepts: days, hours and minutes such as "
            f'"72h", "90m" or "1d12h", from {MAX_RUNTIME_TEXT[0]} to {MAX_RUNTIME_TEXT[1]}',
        )
        return None
    return seconds


def _registry_credentials(
    check: Checker, job: Job, path: str, value: object, repository: str | None
) -> str | None:
    """The Secrets Manager secret ECS logs in to a private registry with."""
    where = f"{path}.registry_credentials"
    arn = check.typed(job, where, value, str, "a Secrets Manager secret ARN")
    if arn is None:
        return None
    if not REGISTRY_SECRET_ARN.fullmatch(arn):
        check.fail(
            job,
            where,
            f"{shown(arn)} is not a complete Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX); ECS reads registry "
            'credentials ({"username": ..., "password": ...}) from Secrets Manager only',
        )
        return None
    if repository is not None and ".dkr.ecr." in repository.partition("/")[0]:
        check.fail(
            job,
            where,
            "the image is in ECR, which ECS pulls from with the execution role; "
            "registry_credentials is for other registries: drop it",
        )
        return None
    return arn


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
    for index, word in enumerate(words):
        reason = control_reason(word)
        if reason:
            check.fail(job, f"{path}[{index}]", f"{shown(word)} {reason}")
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
