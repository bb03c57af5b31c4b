from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="computer-vision-research-lab", region="us-east-1", jobs=[Job(name="resnet-imagenet-baseline-v2-long", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512))])
