"""Rendezvous end to end: the leader's and the workers' container environment, read from the
committed module, start `nodes` local torchrun agents (the rendezvous host replaced by
127.0.0.1, the team's command replaced by an all-reduce script). They must form one job whose
world size is nodes x processes_per_node, with the expected all-reduce sum.

Workers start before the leader, as they may on ECS, to show they wait for its store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecsgen.hcl import Expr
from ecsgen.verify import parse
from tests.conftest import OUTPUT, ROOT, unavailable

SCRIPT = ROOT / "tests" / "assets" / "allreduce.py"
TIMEOUT = 300


def _torchrun() -> str:
    try:
        import torch  # noqa: F401
    except ImportError:
        unavailable("torch is not installed (pip install -e '.[test]' installs torch==2.13.0)")
    found = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which(
        "torchrun"
    )
    if found is None:
        unavailable("torchrun is not on the PATH")
    assert found is not None
    return found


def _defaults(team: str) -> dict[str, object]:
    doc = parse((OUTPUT / team / "variables.tf").read_text(encoding="utf-8"), "variables.tf")
    defaults: dict[str, object] = {}
    for entry in doc["variable"]:  # type: ignore[union-attr]
        for name, body in entry.items():
            if "default" in body:
                defaults[name] = body["default"]
    return defaults


def _resolve(value: object, variables: dict[str, object]) -> str:
    """The value a variable-driven environment entry takes; the contract allows no other kind."""
    if isinstance(value, str):
        return value
    assert isinstance(value, Expr), value
    match = re.fullmatch(r"tostring\(var\.(\w+)\)|var\.(\w+)", value.text)
    if match:
        return str(variables[match[1] or match[2]])
    assert value.text.startswith('"') and value.text.endswith('"'), value.text
    return re.sub(r"\$\{var\.(\w+)\}", lambda m: str(variables[m[1]]), value.text[1:-1])


def _environments(
    team: str, job: str, nodes: int | None
) -> tuple[dict[str, str], dict[str, str], int]:
    variables = _defaults(team)
    if nodes is not None:
        variables[f"{job}_nodes"] = nodes
    doc = parse((OUTPUT / team / f"job_{job}.tf").read_text(encoding="utf-8"), "job")
    containers = {k: v for block in doc["locals"] for k, v in block.items()}  # type: ignore
    envs = []
    for role in ("leader", "worker"):
        container = containers[f"{job}_{role}"]
        env = {e["name"]: _resolve(e["value"], variables) for e in container["environment"]}
        host, _, port = env["PET_RDZV_ENDPOINT"].rpartition(":")
        assert host and port == "29400"
        env["PET_RDZV_ENDPOINT"] = f"127.0.0.1:{port}"
        envs.append(env)
        assert container["command"][0] == "torchrun"
    count = variables[f"{job}_nodes"]
    assert isinstance(count, int)
    return envs[0], envs[1], count


CASES = [
    pytest.param("starter", "ai_training", None, id="starter: Fargate 2 nodes x 1"),
    pytest.param("vision", "resnet", None, id="vision: Fargate 4 nodes x 1"),
    pytest.param("recsys", "dlrm", 3, id="recsys: EC2 elastic 2:3 nodes x 4"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("team", "job", "nodes"), CASES)
def test_nodes_form_one_job(team: str, job: str, nodes: int | None, tmp_path: Path) -> None:
    torchrun = _torchrun()
    leader_env, worker_env, count = _environments(team, job, nodes)
    ppn = int(leader_env["PET_NPROC_PER_NODE"])
    world = count * ppn
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    results = tmp_path / "results"
    results.mkdir()
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for index in range(count):
            env = leader_env if index == count - 1 else worker_env
            log = (tmp_path / f"node{index}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [torchrun, str(SCRIPT), str(results)],
                    env={**base, **env},
                    stdout=log,
                    stderr=log,
                    cwd=tmp_path,
                )
            )
            if index == count - 2:
                time.sleep(2)  # the leader comes up last
        deadline = time.monotonic() + TIMEOUT
        for proc in procs:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for log in logs:
            log.close()
    tails = "\n".join(
        (tmp_path / f"node{i}.log").read_text(errors="replace")[-2000:] for i in range(count)
    )
    assert [p.returncode for p in procs] == [0] * count, tails
    records = [json.loads(p.read_text()) for p in sorted(results.glob("rank*.json"))]
    assert len(records) == world, tails
    assert sorted(r["rank"] for r in records) == list(range(world))
    assert {r["world"] for r in records} == {world}
    assert {r["sum"] for r in records} == {world * (world + 1) / 2}
    assert {r["local_world"] for r in records} == {ppn}
    assert sorted({r["group_rank"] for r in records}) == list(range(count))
    assert sorted(r["role"] for r in records).count("leader") == ppn
