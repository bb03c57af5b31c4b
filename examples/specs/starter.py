"""The seed's case done right: two nodes on the smallest valid Fargate size.

The original Pulumi program ran `desired_count = 2` copies of one task that never learned about
each other; here a leader and a worker form one torchrun job through the leader's c10d store.
"""

from _defaults import REGION, REGISTRY, TAGS

from ecsgen import Fargate, Job, Network, Team

team = Team(
    name="starter",
    region=REGION,
    tags=TAGS,
    network=Network(
        vpc_id="vpc-0a1b2c3d4e5f60718",
        subnet_ids=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    ),
    log_retention_days=30,
    jobs=[
        Job(
            name="ai-training",
            image=f"{REGISTRY}/ai-training:2024.06.1",
            command=["python", "train.py"],
            nodes=2,
            compute=Fargate(cpu=256, memory=512),
        ),
    ],
)
