from ecsgen import S3, Ec2, Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=1024, memory=2048, neuron=True))])
