from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="a", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512))])
