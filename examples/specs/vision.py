"""Team vision: a 4-node ResNet job on Fargate (CPU), reading ImageNet and saving checkpoints."""

from _defaults import ACCOUNT, REGION, REGISTRY, TAGS

from ecsgen import S3, Fargate, Job, Team

team = Team(
    name="vision",
    region=REGION,
    tags={**TAGS, "cost-center": "cv-1234"},
    jobs=[
        Job(
            name="resnet",
            image=f"{REGISTRY}/vision/resnet:1.4.2",
            command=["python", "train.py", "--epochs", "90"],
            nodes=4,
            processes_per_node=1,
            compute=Fargate(cpu=4096, memory=16384),
            env={"WANDB_PROJECT": "resnet"},
            secrets={
                "WANDB_API_KEY": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:wandb-AbCdEf",
            },
            datasets=[S3("s3://vision-data/imagenet/")],
            checkpoints=S3("s3://vision-ckpt/resnet/"),
        ),
    ],
)
