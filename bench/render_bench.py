"""Benchmark: how long ecsgen takes, stage by stage, on the examples and on a large synthetic
fleet. Prints figures; asserts nothing. Run: python bench/render_bench.py [--repeat N]."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ecsgen import Fargate, Job, Team
from ecsgen.load import LoadedSpec, load_specs
from ecsgen.model import build
from ecsgen.render import render_module
from ecsgen.validate import validate
from ecsgen.verify import verify_files

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object], repeat: int) -> tuple[float, object]:
    samples = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def stages(specs: list[LoadedSpec], repeat: int, label: str) -> None:
    t_validate, teams = timed(lambda: validate(specs), repeat)
    assert isinstance(teams, list)
    t_build, modules = timed(lambda: [build(t) for t in teams], repeat)
    assert isinstance(modules, list)
    t_render, files = timed(lambda: [render_module(m) for m in modules], repeat)
    assert isinstance(files, list)
    t_verify, _ = timed(
        lambda: [verify_files(m, f) for m, f in zip(modules, files, strict=True)], repeat
    )
    count = sum(len(f) for f in files)
    size = sum(len(t) for f in files for t in f.values())
    total = t_validate + t_build + t_render + t_verify
    print(
        f"\n{label}: {len(teams)} teams, {sum(len(t.jobs) for t in teams)} jobs, "
        f"{count} files, {size / 1024:.0f} KiB (median of {repeat})"
    )
    for name, value in (
        ("validate", t_validate),
        ("model", t_build),
        ("render", t_render),
        ("parse-back", t_verify),
    ):
        print(f"  {name:<11} {value * 1000:8.1f} ms  {value / total:6.1%}")
    print(f"  {'total':<11} {total * 1000:8.1f} ms")


def synthetic(teams: int, jobs: int) -> list[LoadedSpec]:
    specs = []
    for t in range(teams):
        team = Team(
            name=f"team{t}",
            region="us-east-1",
            tags={"owner": f"t{t}"},
            jobs=[
                Job(
                    name=f"job{j}",
                    image=f"registry.example.com/t{t}/j{j}:1.0",
                    command=["python", "train.py", "--seed", str(j)],
                    nodes=4,
                    compute=Fargate(cpu=4096, memory=16384),
                    env={"RUN": f"{t}-{j}"},
                )
                for j in range(jobs)
            ],
        )
        specs.append(LoadedSpec(Path(f"team{t}.py"), team))
    return specs


def cli(args: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ecsgen", *args], cwd=ROOT, check=False, capture_output=True
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    os.chdir(ROOT)
    specs = load_specs([Path("examples/specs")])
    stages(specs, args.repeat, "examples")
    stages(synthetic(20, 5), max(1, args.repeat // 2), "synthetic fleet")
    with tempfile.TemporaryDirectory() as out:
        render = cli(["render", "examples/specs", "--out", out], args.repeat)
        check = cli(["check", "examples/specs", "--out", out], args.repeat)
    check_repo = cli(["check", "examples/specs"], args.repeat)
    print(f"\nCLI, whole process (median of {args.repeat}):")
    print(f"  ecsgen render examples/specs   {render:6.2f} s")
    print(f"  ecsgen check examples/specs    {check:6.2f} s (against that render)")
    print(f"  ecsgen check (committed output) {check_repo:5.2f} s")


if __name__ == "__main__":
    main()
