from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], env={"HF_TOKEN": "hf_abc", "AWS_SECRET_ACCESS_KEY": "x", "DB_PASSWORD": "x", "API_KEY": "x"}, compute=Fargate(cpu=256, memory=512))])
