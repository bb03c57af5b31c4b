from ecsgen import S3, CapacityBlock, Ec2, Efs, Fargate, FsxLustre, Job, Network, Reservation, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], nodes="2:8", compute=Ec2(instance_type="p5.48xlarge", reservation=Reservation("cr-0123456789abcdef0", instances=4)))])
