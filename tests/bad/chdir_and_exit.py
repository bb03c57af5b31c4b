import os
import sys

from ecsgen import Fargate, Job, Team

os.chdir("/")
sys.path.insert(0, "/nonexistent")
print("spec output that must not reach stdout")
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=4096))])
