from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="fargate-ml", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], checkpoints=S3("s3://ckpt-bucket/c/"), compute=Ec2(instance_type="g5.2xlarge"))])
