from ecsgen import S3, CapacityBlock, Ec2, Efs, Fargate, FsxLustre, Job, Network, Reservation, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=1024, memory=2048, ephemeral_gib=500))])
