from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512), max_failures=0), Job(name="vit", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512), max_failures=101)])
