"""Fleet benchmark: whole `ecsgen` processes over N teams made from the five examples (cycled under
new names, `starter0003`, `vision0004`, ...). For each N it prints, as seconds, as a ratio to the
floor and with the peak RSS of the process tree:

* floor: the same render (load, validate, model, render, on the same `--jobs`) without parse-back
  and without writing or reading the output, in a process that imports what `ecsgen render` does;
* cold render into an empty folder; render with nothing changed; render with one team changed;
* check against the rendered tree; validate of the rendered tree.

Prints figures and asserts nothing. Run: python bench/fleet_bench.py [--sizes 1,10,100,1000]
[--repeat 3] [--jobs N] [--baseline DIR]. `--baseline` names a checkout of an older ecsgen whose
cold render and check are timed the same way, on a fleet made from its own examples (its .tf
size is printed: older versions generate less), for sizes up to `--baseline-max` (default 100).

Bytecode is written for the measured processes (PYTHONDONTWRITEBYTECODE is dropped from their
environment), as an installed ecsgen has it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "specs"

FLOOR = """
import sys
from functools import partial
from pathlib import Path

from ecsgen import parallel
from ecsgen.isolate import load_and_validate
from ecsgen.model import build
from ecsgen.pipeline import _templates
from ecsgen.render import render_module


def work(team, anchor):
    return sum(len(text) for text in render_module(build(team, anchor)).values())


specs, out, jobs = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
teams = load_and_validate([specs])
_templates(None, parallel_run=jobs > 1 and len(teams) > 1)
parallel.run(partial(work, anchor=out.resolve().parent), teams, jobs)
"""


def make_fleet(folder: Path, count: int, examples: Path = EXAMPLES) -> list[Path]:
    """`count` spec files cycling through the examples, each team renamed; returns the specs."""
    folder.mkdir(parents=True)
    shutil.copy(examples / "_defaults.py", folder / "_defaults.py")
    bases = sorted(p for p in examples.glob("*.py") if not p.name.startswith("_"))
    paths = []
    for index in range(count):
        base = bases[index % len(bases)]
        name = f"{base.stem}{index:04d}"
        text = base.read_text(encoding="utf-8")
        renamed = text.replace(f'name="{base.stem}"', f'name="{name}"', 1)
        assert renamed != text, base
        path = folder / f"{name}.py"
        path.write_text(renamed, encoding="utf-8")
        paths.append(path)
    return paths


def environment(pythonpath: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds, peak RSS (MiB, largest process of the tree) and exit code of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode not in (0, 1):
        print(f"    ! {' '.join(command[-6:])} exited {process.returncode}: {error[-400:]}")
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def repeated(
    action: Callable[[], tuple[float, float, int]],
    repeat: int,
    before: Callable[[], None] | None = None,
) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        elapsed, peak, _ = action()
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def bench_size(
    count: int,
    repeat: int,
    jobs: int,
    baseline: Path | None,
    baseline_max: int,
    validate_max: int = 10**9,
) -> None:
    with tempfile.TemporaryDirectory(prefix="ecsgen-fleet-") as tmp:
        work = Path(tmp)
        specs = make_fleet(work / "specs", count)
        out = work / "output"
        env = environment()
        ecsgen = [sys.executable, "-m", "ecsgen"]
        jobs_args = ["--jobs", str(jobs)]
        slow = count >= 500  # a cold render or a validate of a big fleet: once is enough
        heavy_repeat = 1 if slow else repeat

        def run(*args: str) -> tuple[float, float, int]:
            return measure([*ecsgen, *args], work, env)

        def clear() -> None:
            shutil.rmtree(out, ignore_errors=True)

        floor = repeated(
            lambda: measure([sys.executable, "-c", FLOOR, "specs", "output", str(jobs)], work, env),
            repeat,
        )
        cold = repeated(lambda: run("render", "specs", *jobs_args), heavy_repeat, clear)
        if not out.is_dir():
            clear()
            run("render", "specs", *jobs_args)
        unchanged = repeated(lambda: run("render", "specs", *jobs_args), repeat)
        changed_spec = specs[len(specs) // 2]
        original = changed_spec.read_text(encoding="utf-8")
        flips = iter(range(10_000))

        def change_one() -> None:
            marker = f'tags={{**TAGS, "bench": "v{next(flips)}"}},'
            changed_spec.write_text(
                original.replace("tags=TAGS,", marker, 1)
                if "tags=TAGS," in original
                else original.replace("tags={**TAGS,", marker.removesuffix("},") + ",", 1),
                encoding="utf-8",
            )

        one = repeated(lambda: run("render", "specs", *jobs_args), repeat, change_one)
        changed_spec.write_text(original, encoding="utf-8")
        run("render", "specs", *jobs_args)
        check = repeated(lambda: run("check", "specs", *jobs_args), repeat)
        validate = (
            repeated(lambda: run("validate", "output", *jobs_args), heavy_repeat)
            if count <= validate_max
            else None
        )
        rows = [
            ("floor (render, no parse-back, no write)", floor),
            ("render, cold (empty output)", cold),
            ("render, nothing changed", unchanged),
            ("render, one team changed", one),
            ("check (up to date)", check),
        ]
        if validate is not None:
            rows.append(("validate (parses every file)", validate))
        if baseline is not None and count <= baseline_max:
            # The older version reads its own examples (newer spec fields are unknown to it).
            make_fleet(work / "old-specs", count, baseline / "examples" / "specs")
            old_env = environment(baseline)
            old = [sys.executable, "-m", "ecsgen"]
            old_cold = repeated(
                lambda: measure([*old, "render", "old-specs", "--out", "old"], work, old_env),
                heavy_repeat,
                lambda: shutil.rmtree(work / "old", ignore_errors=True),
            )
            old_check = repeated(
                lambda: measure([*old, "check", "old-specs", "--out", "old"], work, old_env),
                repeat,
            )
            old_size = sum(p.stat().st_size for p in (work / "old").rglob("*.tf")) / 2**20
            rows += [
                (f"baseline {baseline.name}: render, cold ({old_size:.1f} MiB)", old_cold),
                (f"baseline {baseline.name}: check", old_check),
            ]
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
        print(
            f"\nN = {count} teams ({sum(1 for _ in out.rglob('*.tf'))} .tf files, {size:.1f} MiB "
            f"of output; --jobs {jobs}; median of {repeat}, cold render and validate of "
            f"{heavy_repeat}); load average now {os.getloadavg()[0]:.2f}"
        )
        print(f"  {'':<42} {'seconds':>8} {'x floor':>8} {'peak RSS':>10}")
        for label, (seconds, peak) in rows:
            print(f"  {label:<42} {seconds:8.2f} {seconds / floor[0]:8.2f} {peak:7.0f} MiB")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--baseline-max", type=int, default=100)
    parser.add_argument(
        "--validate-max",
        type=int,
        default=10**9,
        help="time `validate` only for fleets up to this size (it parses every file: minutes)",
    )
    args = parser.parse_args()
    print(
        f"ecsgen fleet benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start"
    )
    for count in (int(n) for n in args.sizes.split(",")):
        bench_size(
            count, args.repeat, args.jobs, args.baseline, args.baseline_max, args.validate_max
        )
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
