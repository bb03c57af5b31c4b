from ecsgen import S3, Ec2, Fargate, Job, Team
team = Team(name="vision", region="us-east-1", kms_key_arn="arn:aws:kms:us-east-1:123456789012:alias/training", jobs=[Job(name="llm", image="r/x:1", command=["python", "t.py"], compute=Fargate(cpu=1024, memory=2048), datasets=[S3("s3://data-bucket/x/", kms_key_arn="1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")])])
