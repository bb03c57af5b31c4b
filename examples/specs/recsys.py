"""Team recsys: an elastic job on Spot g6e instances that resumes from checkpoints; its outcomes
are forwarded to the ML platform's existing SNS topic."""

from _defaults import ACCOUNT, REGION, REGISTRY, TAGS

from ecsgen import S3, Ec2, Job, Team

team = Team(
    name="recsys",
    region=REGION,
    tags=TAGS,
    notify=[f"arn:aws:sns:{REGION}:{ACCOUNT}:ml-platform-alerts"],  # the platform's own topic
    jobs=[
        Job(
            name="dlrm",
            image=f"{REGISTRY}/recsys/dlrm:3.2.0",
            command=["python", "train_dlrm.py", "--resume-from-latest"],
            nodes="2:6",
            processes_per_node=4,
            compute=Ec2(instance_type="g6e.12xlarge", spot=True, shm_mib=32768),
            datasets=[S3("s3://recsys-data/criteo/")],
            checkpoints=S3("s3://recsys-ckpt/dlrm/"),
            max_failures=5,  # Spot: a few more leader losses before the run counts as failed
            max_runtime="72h",  # a bound on the GPU bill: the run ends TIMED_OUT after 3 days
        ),
    ],
)
