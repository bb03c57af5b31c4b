from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], processes_per_node=8, compute=Ec2(instance_type="g5.12xlarge"))])
