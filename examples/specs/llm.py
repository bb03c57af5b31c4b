"""Team llm: pre-training on four p4d.24xlarge (8 x A100 each) over EFA, plus an elastic
CPU evaluation service on Fargate that keeps running (keep_running). Outcomes are mailed to the
on-call address."""

from _defaults import ACCOUNT, REGION, REGISTRY, TAGS

from ecsgen import S3, Ec2, Fargate, Job, Team

team = Team(
    name="llm",
    region=REGION,
    tags={**TAGS, "project": "foundation-7b"},
    notify=["llm-oncall@example.com"],
    jobs=[
        Job(
            name="pretrain",
            image=f"{REGISTRY}/llm/pretrain:0.9.0",
            command=["python", "pretrain.py", "--model", "7b", "--fsdp"],
            nodes=4,
            compute=Ec2(instance_type="p4d.24xlarge", efa=True, root_volume_gib=500),
            env={"NCCL_DEBUG": "INFO"},
            secrets={
                "WANDB_API_KEY": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:llm/wandb-Q1w2E3",
            },
            datasets=[S3("s3://llm-corpus/tokenized/v3/")],
            checkpoints=S3("s3://llm-ckpt/pretrain-7b/"),
        ),
        Job(
            name="eval",
            image=f"{REGISTRY}/llm/eval:0.9.0",
            command=["python", "evaluate.py", "--suite", "core"],
            nodes="2:4",
            compute=Fargate(cpu=8192, memory=32768),
            keep_running=True,  # a standing evaluation service: it never ends by itself
            datasets=[S3("s3://llm-ckpt/pretrain-7b/"), S3("s3://llm-corpus/eval/")],
        ),
    ],
)
