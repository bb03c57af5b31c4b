from ecsgen import Fargate, Job, Team

team = Team(
    name="vision",
    region="us-east-1",
    log_retention_days=8,
    jobs=[
        Job(
            name="resnet",
            image="r/x:1",
            command=["python", "t.py"],
            nodes=0,
            max_restarts=-1,
            compute=Fargate(
                cpu=256,
                memory=4096,
            ),
        ),
    ],
)
