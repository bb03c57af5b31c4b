from ecsgen import S3, Ec2, Fargate, Job, Network, Team
team = Team(name="vision", region="us-east-1", jobs=[Job(name="resnet", image="r/x:1", command=["python", "t.py"], env={"DB_PASS": "x", "APIKEY": "y", "GH_PAT": "z", "TOKENIZERS_PARALLELISM": "false", "PWD": "/app", "NUM_PASSES": "3", "PATH_PREFIX": "/x"}, compute=Fargate(cpu=256, memory=512))])
