from ecsgen import S3, Ec2, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], stop_timeout=120, checkpoints=S3("s3://ckpt/resnet/"), compute=Ec2(instance_type="g5.2xlarge", spot=True))])
