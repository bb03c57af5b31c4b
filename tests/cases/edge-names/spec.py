"""Job names that could collide with the module's own names (locals, resources, outputs) and
tag keys that are HCL keywords: the module must still validate."""

from ecsgen import S3, Ec2, Fargate, Job, Team

SMALL = Fargate(cpu=256, memory=512)

team = Team(
    name="edge",
    region="eu-west-1",
    tags={"for": "x", "null": "y", "true": "z"},
    jobs=[
        Job(name="spec", image="r.example.com/a:1", command=["python", "a.py"], compute=SMALL),
        Job(name="this", image="r.example.com/a:1", command=["python", "a.py"], compute=SMALL),
        Job(name="tags", image="r.example.com/a:1", command=["python", "a.py"], compute=SMALL),
        Job(name="cluster", image="r.example.com/a:1", command=["python", "a.py"], compute=SMALL),
        Job(
            name="instance",
            image="r.example.com/a:1",
            command=["bin/train", "--fast"],
            nodes="1:3",
            compute=Ec2(instance_type="g5.xlarge", spot=True),
            checkpoints=S3("s3://edge-ckpt/instance"),
        ),
    ],
)
