"""Stands in for a team's training script in the rendezvous test: joins the process group that
torchrun formed, all-reduces rank + 1 and records what it saw in RESULTS_DIR/rank<N>.json."""

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
value = torch.tensor([float(rank + 1)])
dist.all_reduce(value)
record = {
    "rank": rank,
    "world": world,
    "sum": value.item(),
    "group_rank": int(os.environ["GROUP_RANK"]),
    "local_world": int(os.environ["LOCAL_WORLD_SIZE"]),
    "role": os.environ["ECSGEN_ROLE"],
}
Path(sys.argv[1], f"rank{rank}.json").write_text(json.dumps(record), encoding="utf-8")
dist.destroy_process_group()
