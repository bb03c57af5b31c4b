"""Team speech: a single g5 instance (one A10G GPU) fine-tuning a Whisper model."""

from _defaults import ACCOUNT, REGION, REGISTRY, TAGS

from ecsgen import S3, Ec2, Job, Team

team = Team(
    name="speech",
    region=REGION,
    tags=TAGS,
    keep_logs=True,  # the fine-tuning logs stay in AWS when the job is renamed or removed
    jobs=[
        Job(
            name="whisper-ft",
            image=f"{REGISTRY}/speech/whisper@sha256:{'4f' * 32}",
            command=["python", "-m", "speech.finetune", "--config", "configs/small.yaml"],
            nodes=1,
            compute=Ec2(instance_type="g5.2xlarge", root_volume_gib=300),
            env={"TOKENIZERS_PARALLELISM": "false"},
            secrets={"HF_TOKEN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/speech/hf-token"},
            datasets=[
                S3("s3://speech-corpora/librispeech/"),
                S3("s3://speech-corpora/common-voice/"),
            ],
            # Each fine-tuning run starts fresh under s3://speech-ckpt/whisper-ft/<run id>/.
            checkpoints=S3("s3://speech-ckpt/whisper-ft/", per_run=True),
        ),
    ],
)
