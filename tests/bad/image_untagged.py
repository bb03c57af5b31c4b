from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="123456789012.dkr.ecr.us-east-1.amazonaws.com/vision/resnet", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512))])
