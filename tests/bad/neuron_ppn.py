from ecsgen import S3, Ec2, Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], processes_per_node=64, compute=Ec2(instance_type="trn1.32xlarge"))])
