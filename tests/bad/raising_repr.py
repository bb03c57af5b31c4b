from ecsgen import Fargate, Job, Team


class Weird:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image=Weird(), command=["python", "t.py"], compute=Fargate(cpu=256, memory=512))])
