from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=1024, memory=2048, cpu_architecture="arm64"))])
