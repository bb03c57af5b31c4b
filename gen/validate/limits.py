"""The limits and rules tables of validation: what AWS, ECS and ecsgen accept, one row each,
with the source where AWS documents it. The checks in this package read them; the model reads
the few it also writes into the module (log retention, node and tag limits)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..names import job_names

# Fargate task sizes (cpu units -> valid memory MiB), from the AWS table
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
# CloudWatch Logs PutRetentionPolicy accepts exactly these values.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# ECS registers less memory than the instance's nominal size; ask for at most this share of it.
EC2_MEMORY_SHARE = 0.90
MAX_NODES = 1000  # Cloud Map registers at most 1,000 tasks per ECS service
# Leader tasks of one run that may fail before the run ends as FAILED (Job.max_failures). Each
# counted task id is kept in the run's progress parameter (33 bytes each, in 4 KB).
MAX_FAILURES = 100
# Job.max_runtime: "1d12h", "72h", "90m". The timer is a Standard workflow execution, which
# may run for at most a year; below 10 minutes a run cannot even start on EC2.
DURATION = re.compile(r"(?:(?P<d>[0-9]{1,3})d)?(?:(?P<h>[0-9]{1,4})h)?(?:(?P<m>[0-9]{1,6})m)?")
DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60}
MAX_RUNTIME_RANGE = (600, 360 * 86400)
MAX_RUNTIME_TEXT = ("10m", "360d")
MAX_STOP_TIMEOUT = 120  # Fargate's maximum
# Spot: the two-minute interruption notice starts draining, so SIGTERM comes less than 120 s
# before the instance goes; leave the stop (a last checkpoint) time to finish before that.
MAX_SPOT_STOP_TIMEOUT = 90
NOTIFY_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
SNS_TOPIC_ARN = re.compile(
    r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?"
)
TAG_LIMIT = 50
# ecsgen adds `ecsgen:team` and `ecsgen:job` everywhere, and `Name` and `AmazonECSManaged` on
# Auto Scaling groups and the instances they launch.
MODULE_TAGS = 4
RESERVED_TAG_KEYS = frozenset({"Name", "AmazonECSManaged"})
# IAM and ECS accept letters, digits and white space in any language, and _ . : / = + - @.
TAG_PUNCTUATION = frozenset("_.:/=+-@")
TAG_RULE = "letters, digits, spaces and _ . : / = + - @ (what IAM and ECS accept)"

NAME = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
NAME_RULE = (
    "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"
)
REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IMAGE = re.compile(
    r"(?P<repository>[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::[0-9]+)?"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))?"
)
SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}"
    r"|ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+)"
)
S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")
S3_PREFIX = re.compile(r"[A-Za-z0-9!_.'()=+/-]*")
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
AMI_ID = re.compile(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})")
VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
RESERVED_ENV = frozenset(
    {
        "MASTER_ADDR",
        "MASTER_PORT",
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "LOCAL_WORLD_SIZE",
        "GROUP_RANK",
        "GROUP_WORLD_SIZE",
        "ROLE_RANK",
        "ROLE_WORLD_SIZE",
        "ROLE_NAME",
    }
)
RESERVED_ENV_PREFIXES = (
    "PET_",
    "TORCHELASTIC_",
    "ECSGEN_",
    "ECS_CONTAINER_METADATA_URI",
    "AWS_CONTAINER_",
)
# Credential-looking environment names belong in `secrets`. A name is one when it contains one
# of CREDENTIAL_PARTS, when one of its words (split at `_` and digits) is in CREDENTIAL_WORDS,
# or when its last word is KEY.
CREDENTIAL_PARTS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
)
CREDENTIAL_WORDS = frozenset({"PASS", "PWD", "PAT", "CREDS", "PSK"})
CREDENTIAL_RULE = (
    "*TOKEN*, *SECRET*, *PASSWORD*, *PASSWD*, *PASSPHRASE*, *CREDENTIAL*, *APIKEY*, *API_KEY*, "
    "*PRIVATE_KEY*, *ACCESS_KEY*, *_KEY, or a word PASS, PWD, PAT, CREDS or PSK"
)
# The known false positives, by exact name: Hugging Face's tokenizer and hub switches, and the
# shell's working-directory variables.
NOT_CREDENTIALS = frozenset(
    {"TOKENIZERS_PARALLELISM", "HF_HUB_DISABLE_IMPLICIT_TOKEN", "PWD", "OLDPWD"}
)
# Bounds on what a spec may hold, so that a runaway spec fails fast with a short message.
MAX_TEXT = 4096  # characters of any string
MAX_NAME = 63  # characters of a team or job name (a DNS label)
MAX_ITEMS = {
    "jobs": 50,
    "env": 200,
    "secrets": 100,
    "datasets": 50,
    "command": 256,
    "tags": 200,  # the tag rule then allows TAG_LIMIT - MODULE_TAGS
    "subnet_ids": 16,
    "volumes": 10,
    "ulimits": 15,
}
MAX_OTHER_ITEMS = 100
MAX_DEPTH = 4  # containers inside containers are not followed deeper (a type error anyway)
INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
# Asked of Fargate, these get a pointed answer instead of "unknown field".
FARGATE_CANNOT = {
    "gpus": "GPUs",
    "gpu": "GPUs",
    "efa": "EFA",
    "devices": "devices",
    "shm_mib": "shared memory (/dev/shm) sizing",
    "shared_memory": "shared memory (/dev/shm) sizing",
    "instance_type": "an instance type",
    "spot": "EC2 Spot (Fargate Spot is not supported yet)",
    "neuron": "Neuron devices (Trainium)",
    "neuron_cores": "Neuron devices (Trainium)",
}
# Environment that only means something with NVIDIA GPUs (refused on Trainium).
CUDA_ONLY_ENV = ("CUDA_", "NCCL_", "NVIDIA_", "PYTORCH_CUDA_")

# -- reserved capacity (issue 17) --------------------------------------------------------------
RESERVATION_ID = re.compile(r"cr-[0-9a-f]{8,17}")
RESOURCE_GROUP_ARN = re.compile(
    r"arn:aws[a-z-]*:resource-groups:(?P<region>[a-z0-9-]+):[0-9]{12}:group/[A-Za-z0-9_.-]{1,300}"
)
# The instance counts EC2 sells Capacity Blocks in, and when it reclaims them
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-purchase.html,
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-using.html).
CAPACITY_BLOCK_SIZES = (1, 2, 4, 8, 16, 32, 64)
CAPACITY_BLOCK_MINUTES_BEFORE_END = 30  # EC2 begins terminating the block's instances then
# -- shared file systems -----------------------------------------------------------------------
FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8,17}")
LUSTRE_MOUNT_NAME = re.compile(r"[A-Za-z0-9_-]{1,8}")  # FSx's LustreConfiguration.MountName
CONTAINER_PATH = re.compile(r"(?:/[A-Za-z0-9._-]+)+")
RESERVED_MOUNTS = ("/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64")
CPU_ARCHITECTURES = ("X86_64", "ARM64")  # ECS runtime_platform on Fargate
EPHEMERAL_GIB = (21, 200)  # Fargate ephemeral storage (20 GiB without it)
# -- private registries ------------------------------------------------------------------------
REGISTRY_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}"
)
# -- customer-managed KMS keys ------------------------------------------------------------------
KMS_KEY_ARN = re.compile(
    r"arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
)
# -- ulimits -----------------------------------------------------------------------------------
# ECS's ulimit names (botocore's ecs `UlimitName` enum; a test compares the two).
ULIMIT_NAMES = (
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)
MAX_ULIMIT = 2**31 - 1  # ECS takes softLimit and hardLimit as 32-bit integers

# A team name and a job name together fit every derived AWS name (the IAM execution role's
# `<team>-<job>-execution`, 64 characters, is the tightest).
MAX_TEAM_AND_JOB = min(
    d.limit - (len(d.value) - 2)
    for d in job_names("t", "j").all(ec2=True)
    if "t" in d.value and "j" in d.value and not d.value.startswith("/")
)
