from ecsgen import S3, Fargate, Job, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=256, memory=512), keep_running=True, max_runtime="72h", checkpoints=S3("s3://vision-ckpt/resnet/", per_run=True))])
