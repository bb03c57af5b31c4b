from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="computer-vision-research-and-development-group-eu-west", region="us-east-1", jobs=[Job(name="a", image="r/x:1", command=["python", "t.py"], compute=Ec2(instance_type="g5.xlarge"))])
