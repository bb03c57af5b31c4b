from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", tags={f"k{i}": "v" for i in range(47)}, jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512))])
