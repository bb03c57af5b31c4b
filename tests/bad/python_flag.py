from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "-u", "t.py"], compute=Fargate(cpu=256, memory=512))])
