"""A Graviton GPU job (g5g, arm64, the team's own AMI) beside an x86_64 GPU job: the g5g job's
launch template boots its own AMI and its task definitions run ARM64; the g5 job keeps the
ECS GPU-optimized AMI and X86_64."""

from ecsgen import S3, Ec2, Job, Team

team = Team(
    name="arm",
    region="us-west-2",
    jobs=[
        Job(
            name="t4g",
            image="123456789012.dkr.ecr.us-west-2.amazonaws.com/trainer:2.1-arm64",
            command=["train.py"],
            nodes=2,
            compute=Ec2(instance_type="g5g.16xlarge", ami_id="ami-0a1b2c3d4e5f60718", spot=True),
            checkpoints=S3("s3://arm-checkpoints/t4g"),
        ),
        Job(
            name="a10g",
            image="123456789012.dkr.ecr.us-west-2.amazonaws.com/trainer:2.1",
            command=["train.py"],
            compute=Ec2(instance_type="g5.xlarge"),
        ),
    ],
)
