"""Benchmark: what the safety machinery of issue 8 adds. Prints figures; asserts nothing.

- spec isolation: loading and validating N spec files in-process vs in the one forked child;
- ownership: planning a `check` of N teams already on disk (reading each file, hashing it, reading
  the manifest) vs the plain byte comparison it replaced;
- the output lock: taking and releasing it.

Run: python bench/safety_bench.py [--teams 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecsgen.isolate import load_and_validate  # noqa: E402
from ecsgen.load import load_specs  # noqa: E402
from ecsgen.lock import output_lock  # noqa: E402
from ecsgen.model import build  # noqa: E402
from ecsgen.render import render_module  # noqa: E402
from ecsgen.validate import validate  # noqa: E402
from ecsgen.write import apply, drift, plan  # noqa: E402

SPEC = """from ecsgen import Fargate, Job, Team
team = Team(name="team{i}", region="us-east-1", jobs=[
    Job(name="train", image="r/x:1", command=["python", "t.py"], nodes=2,
        env={{"A": "1"}}, compute=Fargate(cpu=256, memory=512)),
])
"""


def median(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def plain_compare(out: Path, rendered: dict[str, dict[str, str]]) -> int:
    """What v0.1's `check` did per file: read it and compare the bytes."""
    changed = 0
    for team, files in rendered.items():
        for name, text in files.items():
            path = out / team / name
            if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                changed += 1
    return changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for count in sorted({1, args.teams}):
            specs = base / f"specs{count}"
            specs.mkdir()
            for i in range(count):
                (specs / f"team{i}.py").write_text(SPEC.format(i=i), encoding="utf-8")
            inline = median(lambda s=specs: validate(load_specs([s])), args.repeat)
            forked = median(lambda s=specs: load_and_validate([s]), args.repeat)
            print(
                f"{count:>5} spec(s): load+validate in-process {inline * 1000:8.1f} ms, "
                f"in the forked child {forked * 1000:8.1f} ms "
                f"(isolation adds {(forked - inline) * 1000:+.1f} ms)"
            )
        teams = load_and_validate([base / f"specs{args.teams}"])
        rendered = {t.name: render_module(build(t)) for t in teams}
        out = base / "out"
        plans = [plan(out, name, files) for name, files in rendered.items()]
        apply(plans)
        owned = median(lambda: drift([plan(out, n, f) for n, f in rendered.items()]), args.repeat)
        plain = median(lambda: plain_compare(out, rendered), args.repeat)
        print(
            f"{args.teams:>5} team(s) on disk: ownership plan+drift {owned * 1000:8.1f} ms, "
            f"plain byte comparison {plain * 1000:8.1f} ms "
            f"(manifest and hashing add {(owned - plain) * 1000:+.1f} ms)"
        )

        def lock_cycle() -> None:
            with output_lock(out, 1):
                pass

        print(f"output lock: take and release {median(lock_cycle, 50) * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
