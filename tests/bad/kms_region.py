from ecsgen import S3, Ec2, Fargate, Job, Team
team = Team(name="vision", region="us-east-1", kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=1024, memory=2048))])
