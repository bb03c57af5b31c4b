from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], secrets={"WANDB_API_KEY": "arn:aws:secretsmanager:us-east-1:123456789012:secret:wandb"}, compute=Fargate(cpu=256, memory=512))])
