from ecsgen import Fargate, Job, Team
team = Team(name="vision", region="us-east-1", notify=["ml-oncall@example.com", "oncall at example", "arn:aws:sns:eu-west-1:123456789012:alerts"], jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], keep_running="yes", compute=Fargate(cpu=256, memory=512))])
