"""Team ranking: a two-node g6e job on an On-Demand Capacity Reservation, an image from a
private registry outside ECR, and shared features on EFS; plus a Fargate evaluation job that
reads the same EFS file system and unpacks shards into 100 GiB of task storage."""

from _defaults import ACCOUNT, REGION, TAGS

from ecsgen import S3, Ec2, Efs, Fargate, Job, Reservation, Team

REGISTRY_LOGIN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ranking/registry-K4m5N6"
FEATURES = "fs-0f1e2d3c4b5a69788"

team = Team(
    name="ranking",
    region=REGION,
    tags=TAGS,
    jobs=[
        Job(
            name="two-tower",
            image="registry.example.com/ranking/two-tower:1.4.2",
            registry_credentials=REGISTRY_LOGIN,
            command=["python", "train_two_tower.py"],
            nodes=2,
            compute=Ec2(
                instance_type="g6e.12xlarge",
                reservation=Reservation(
                    "cr-0f1e2d3c4b5a69788", instance_type="g6e.12xlarge", instances=2
                ),
                ulimits={"nofile": 65536},
            ),
            volumes=[
                Efs(file_system_id=FEATURES, path="/features/v7", mount="/data", read_only=True),
                Efs(file_system_id=FEATURES, path="/scratch/two-tower", mount="/scratch"),
            ],
            checkpoints=S3("s3://ranking-ckpt/two-tower/"),
        ),
        Job(
            name="eval",
            image="registry.example.com/ranking/eval:1.4.2",
            registry_credentials=REGISTRY_LOGIN,
            command=["python", "evaluate.py"],
            compute=Fargate(cpu=4096, memory=16384, ephemeral_gib=100),
            volumes=[
                Efs(file_system_id=FEATURES, path="/features/v7", mount="/data", read_only=True)
            ],
        ),
    ],
)
