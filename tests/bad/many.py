from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-west", tags={"aws:x": "y"}, log_retention_days=10, jobs=[Job(name="resnet", image="r/x:1", command=[], stop_timeout=600, max_restarts=-1, compute=None)])
