"""Team frontier: pre-training on four p5.48xlarge (8 x H100 each, EFA) bought as an EC2 Capacity
Block for ML, reading its corpus from FSx for Lustre and checkpointing to S3 before the block
ends. Each new block is a new reservation ID: set `pretrain_reservation` to it and apply. Logs,
the notification topic, secrets and checkpoints are encrypted with the team's own KMS key; the
evaluation sets' bucket uses another key. A second job trains on two trn1.32xlarge (Trainium) in
their own Capacity Block, from the same FSx for Lustre file system."""

from _defaults import ACCOUNT, REGION, REGISTRY, TAGS

from ecsgen import S3, CapacityBlock, Ec2, FsxLustre, Job, Team

team = Team(
    name="frontier",
    region=REGION,
    tags={**TAGS, "project": "frontier-70b"},
    kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
    notify=["frontier-oncall@example.com"],
    jobs=[
        Job(
            name="pretrain",
            image=f"{REGISTRY}/frontier/pretrain:2.1.0",
            command=["python", "pretrain.py", "--model", "70b", "--resume-from-latest"],
            nodes=4,
            compute=Ec2(
                instance_type="p5.48xlarge",
                efa=True,
                root_volume_gib=500,
                # The block's reservation: 4 instances, reclaimed 30 minutes before its end.
                reservation=CapacityBlock("cr-0a1b2c3d4e5f60718", instances=4),
            ),
            volumes=[
                FsxLustre(
                    file_system_id="fs-0a1b2c3d4e5f60718",
                    mount_name="x7k2mbzv",
                    mount="/fsx",
                    read_only=True,
                ),
            ],
            secrets={
                "WANDB_API_KEY": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:frontier/wandb-Z9y8X7",
            },
            datasets=[
                S3(
                    "s3://frontier-eval/sets/",
                    kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/mrk-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
                )
            ],
            checkpoints=S3("s3://frontier-ckpt/pretrain-70b/"),
        ),
        Job(
            # The same corpus on Trainium: torchrun starts one process per NeuronCore (32 on a
            # trn1.32xlarge), the Neuron devices and the 8 EFA interfaces are passed in.
            name="neuron-7b",
            image=f"{REGISTRY}/frontier/neuron-pretrain:2.1.0",
            command=["python", "pretrain_neuron.py", "--model", "7b", "--resume-from-latest"],
            nodes=2,
            compute=Ec2(
                instance_type="trn1.32xlarge",
                efa=True,
                root_volume_gib=500,
                reservation=CapacityBlock("cr-0b1c2d3e4f5a60718", instances=2),
            ),
            volumes=[
                FsxLustre(
                    file_system_id="fs-0a1b2c3d4e5f60718",
                    mount_name="x7k2mbzv",
                    mount="/fsx",
                    read_only=True,
                ),
            ],
            env={"NEURON_CC_FLAGS": "--model-type=transformer"},
            checkpoints=S3("s3://frontier-ckpt/neuron-7b/"),
        ),
    ],
)
