from ecsgen import S3, CapacityBlock, Ec2, Efs, Fargate, FsxLustre, Job, Network, Reservation, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], checkpoints=S3("s3://ckpt-bucket/run/"), compute=Ec2(instance_type="g6e.12xlarge", reservation=CapacityBlock("cr-0123456789abcdef0")))])
