"""Reserved capacity (On-Demand Capacity Reservations, Capacity Blocks), shared file systems (EFS,
FSx for Lustre), private registries, ulimits and Fargate ephemeral storage (issue 17).

The two examples that use them (`frontier`, `ranking`) are rendered and parsed back; what each
feature must put where is asserted on the parsed Terraform. fmt, `terraform validate`, the
container definitions' botocore shape check and the moto apply run on every example in
tests/test_terraform.py, tests/test_completion.py and tests/test_apply.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ecsgen import catalog
from ecsgen.hcl import Expr
from ecsgen.load import load_specs
from ecsgen.model import build
from ecsgen.render import render_module
from ecsgen.validate import validate
from ecsgen.verify import parse
from tests.conftest import EXAMPLES, ROOT

ACCOUNT = "123456789012"


def _render(specs: list[Path]) -> dict[str, dict[str, Any]]:
    """Each team's files, parsed, by team and file name."""
    out: dict[str, dict[str, Any]] = {}
    for team in validate(load_specs(specs)):
        files = render_module(build(team))
        out[team.name] = {
            name: parse(text, name) if name.endswith(".tf") else text
            for name, text in files.items()
        }
    return out


@pytest.fixture(scope="module")
def examples() -> dict[str, dict[str, Any]]:
    import os

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return _render([EXAMPLES.relative_to(ROOT)])
    finally:
        os.chdir(cwd)


def _text(value: Any) -> Any:
    """Parsed values as text: an expression's source (a quoted template without its quotes,
    `${...}` kept), anything else as it is; lists and objects element by element."""
    if isinstance(value, Expr):
        text = value.text
        return text[1:-1] if text.startswith('"') and text.endswith('"') else text
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _text(v) for k, v in value.items()}
    return value


def _blocks(doc: dict[str, Any], kind: str, rtype: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for entry in doc.get(kind, []):
        found.update(entry.get(rtype, {}) if rtype else entry)
    return _text(found)  # type: ignore[no-any-return]


def _locals(doc: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in doc.get("locals", []):
        merged.update(entry)
    return _text(merged)  # type: ignore[no-any-return]


def _statements(doc: dict[str, Any], label: str) -> dict[str, dict[str, Any]]:
    policy = _blocks(doc, "data", "aws_iam_policy_document")[label]
    return {s["sid"]: s for s in policy.get("statement", [])}


# -- catalogs against AWS's own lists ----------------------------------------------------------


def test_ulimit_names_are_the_ones_ecs_takes() -> None:
    import botocore.session

    from ecsgen.validate.limits import ULIMIT_NAMES

    enum = botocore.session.get_session().get_service_model("ecs").shape_for("UlimitName").enum
    assert sorted(ULIMIT_NAMES) == sorted(enum)


def test_capacity_block_types_are_the_reservable_ones() -> None:
    """The catalog's Capacity Block types are those AWS reserves as blocks (SageMaker's
    ReservedCapacityInstanceType enum names the same EC2 types with an `ml.` prefix)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    reservable = {
        t.removeprefix("ml.") for t in model.shape_for("ReservedCapacityInstanceType").enum
    }
    ours = {t.name for t in catalog.CATALOG.values() if t.capacity_block}
    assert ours == reservable & set(catalog.CATALOG)
    assert ours, "no Capacity Block types"


def test_launch_template_market_type_is_ec2s() -> None:
    import botocore.session

    enum = botocore.session.get_session().get_service_model("ec2").shape_for("MarketType").enum
    assert "capacity-block" in enum


# -- a Capacity Block with FSx for Lustre (examples/specs/frontier.py) -------------------------


def test_capacity_block_launch_template(examples: dict[str, dict[str, Any]]) -> None:
    job = examples["frontier"]["job_pretrain.tf"]
    (template,) = _blocks(job, "resource", "aws_launch_template").values()
    assert template["instance_market_options"] == [{"market_type": "capacity-block"}]
    (reservation,) = template["capacity_reservation_specification"]
    assert reservation["capacity_reservation_target"] == [
        {"capacity_reservation_id": "var.pretrain_reservation"}
    ]
    assert "aws_placement_group" not in {
        rtype for entry in job.get("resource", []) for rtype in entry
    }, "a Capacity Block needs no cluster placement group"
    (group,) = _blocks(job, "resource", "aws_autoscaling_group").values()
    assert "placement_group" not in group
    assert group["vpc_zone_identifier"] == "var.pretrain_subnet_ids"


def test_reservation_variables(examples: dict[str, dict[str, Any]]) -> None:
    variables = _blocks(examples["frontier"]["variables.tf"], "variable", "")
    reservation = variables["pretrain_reservation"]
    assert reservation["default"] == "cr-0a1b2c3d4e5f60718"
    conditions = [v["condition"] for v in variables["pretrain_nodes"]["validation"]]
    assert any("var.pretrain_nodes <= 4" in c for c in conditions), conditions
    subnets = variables["pretrain_subnet_ids"]
    assert "default" not in subnets, "the reservation's zone is the team's to say"


def test_lustre_is_mounted_on_the_host_and_bound_into_the_container(
    examples: dict[str, dict[str, Any]],
) -> None:
    job = examples["frontier"]["job_pretrain.tf"]
    local = _locals(job)
    user_data = local["pretrain_user_data"]
    source = "fs-0a1b2c3d4e5f60718.fsx.us-east-1.amazonaws.com@tcp:/x7k2mbzv"
    host = "/fsx/fs-0a1b2c3d4e5f60718"
    assert "dnf install -y lustre-client" in user_data
    assert f"mount -t lustre -o relatime,flock,ro {source} {host}" in user_data
    assert user_data.index(host) < user_data.index("ECS_CLUSTER="), (
        "mounted before the agent joins the cluster"
    )
    for role in ("leader", "worker"):
        container = local[f"pretrain_{role}"]
        assert container["mountPoints"] == [
            {"containerPath": "/fsx", "readOnly": True, "sourceVolume": "fsx-0"}
        ]
        definition = _blocks(job, "resource", "aws_ecs_task_definition")[f"pretrain_{role}"]
        assert definition["volume"] == [{"name": "fsx-0", "host_path": host}]


def test_file_system_ports_from_the_jobs_own_group(examples: dict[str, dict[str, Any]]) -> None:
    rules = _blocks(
        examples["frontier"]["job_pretrain.tf"], "resource", "aws_vpc_security_group_egress_rule"
    )
    storage = {
        (r["from_port"], r["to_port"])
        for r in rules.values()
        if r.get("cidr_ipv4") == "data.aws_vpc.this.cidr_block"
    }
    assert storage == {(988, 988), (1018, 1023)}
    for rule in rules.values():
        assert rule["security_group_id"] == "aws_security_group.pretrain.id"
    ranking = _blocks(
        examples["ranking"]["job_two_tower.tf"], "resource", "aws_vpc_security_group_egress_rule"
    )
    assert {
        (r["from_port"], r["to_port"])
        for r in ranking.values()
        if r.get("cidr_ipv4") == "data.aws_vpc.this.cidr_block"
    } == {(2049, 2049)}


# -- an ODCR, EFS and a private registry (examples/specs/ranking.py) ---------------------------


def test_odcr_launch_template(examples: dict[str, dict[str, Any]]) -> None:
    (template,) = _blocks(
        examples["ranking"]["job_two_tower.tf"], "resource", "aws_launch_template"
    ).values()
    assert "instance_market_options" not in template, "an ODCR is On-Demand capacity"
    assert template["capacity_reservation_specification"] == [
        {"capacity_reservation_target": [{"capacity_reservation_id": "var.two_tower_reservation"}]}
    ]


def test_efs_volumes_with_tls_and_iam(examples: dict[str, dict[str, Any]]) -> None:
    job = examples["ranking"]["job_two_tower.tf"]
    definition = _blocks(job, "resource", "aws_ecs_task_definition")["two_tower_leader"]
    volumes = {v["name"]: v["efs_volume_configuration"][0] for v in definition["volume"]}
    assert volumes == {
        "efs-0": {
            "file_system_id": "fs-0f1e2d3c4b5a69788",
            "root_directory": "/features/v7",
            "transit_encryption": "ENABLED",
            "authorization_config": [{"iam": "ENABLED"}],
        },
        "efs-1": {
            "file_system_id": "fs-0f1e2d3c4b5a69788",
            "root_directory": "/scratch/two-tower",
            "transit_encryption": "ENABLED",
            "authorization_config": [{"iam": "ENABLED"}],
        },
    }
    container = _locals(job)["two_tower_leader"]
    assert container["mountPoints"] == [
        {"containerPath": "/data", "readOnly": True, "sourceVolume": "efs-0"},
        {"containerPath": "/scratch", "readOnly": False, "sourceVolume": "efs-1"},
    ]


def test_task_role_mounts_exactly_its_file_systems(examples: dict[str, dict[str, Any]]) -> None:
    arn = (
        "arn:${data.aws_partition.current.partition}:elasticfilesystem:us-east-1:"
        "${data.aws_caller_identity.current.account_id}:file-system/fs-0f1e2d3c4b5a69788"
    )
    training = _statements(examples["ranking"]["job_two_tower.tf"], "two_tower_task")
    assert training["MountFileSystems"]["actions"] == ["elasticfilesystem:ClientMount"]
    assert training["MountFileSystems"]["resources"] == [arn]
    assert training["WriteFileSystems"]["actions"] == [
        "elasticfilesystem:ClientRootAccess",
        "elasticfilesystem:ClientWrite",
    ]
    assert training["WriteFileSystems"]["resources"] == [arn]
    evaluation = _statements(examples["ranking"]["job_eval.tf"], "eval_task")
    assert evaluation["MountFileSystems"]["resources"] == [arn]
    assert "WriteFileSystems" not in evaluation, "read-only volumes only: no write access"


def test_private_registry_credentials(examples: dict[str, dict[str, Any]]) -> None:
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ranking/registry-K4m5N6"
    for file, ident in (("job_two_tower.tf", "two_tower"), ("job_eval.tf", "eval")):
        job = examples["ranking"][file]
        container = _locals(job)[f"{ident}_leader"]
        assert container["repositoryCredentials"] == {"credentialsParameter": secret}
        assert container["image"].startswith("registry.example.com/ranking/")
        execution = _statements(job, f"{ident}_execution")
        assert execution["ReadRegistryCredentials"]["actions"] == ["secretsmanager:GetSecretValue"]
        assert execution["ReadRegistryCredentials"]["resources"] == [secret]
        assert "PullImage" not in execution, "no ECR permissions for an image outside ECR"


def test_fargate_ephemeral_storage_and_ulimits(examples: dict[str, dict[str, Any]]) -> None:
    evaluation = _blocks(examples["ranking"]["job_eval.tf"], "resource", "aws_ecs_task_definition")[
        "eval_leader"
    ]
    assert evaluation["ephemeral_storage"] == [{"size_in_gib": 100}]
    container = _locals(examples["ranking"]["job_two_tower.tf"])["two_tower_leader"]
    assert container["ulimits"] == [
        {"hardLimit": -1, "name": "memlock", "softLimit": -1},
        {"hardLimit": 65536, "name": "nofile", "softLimit": 65536},
        {"hardLimit": 67108864, "name": "stack", "softLimit": 67108864},
    ]


def test_examples_without_these_features_are_unchanged_by_them(
    examples: dict[str, dict[str, Any]],
) -> None:
    """No reservation, volume or registry: none of their blocks or statements."""
    job = examples["llm"]["job_pretrain.tf"]
    (template,) = _blocks(job, "resource", "aws_launch_template").values()
    assert "capacity_reservation_specification" not in template
    assert "instance_market_options" not in template
    assert "volume" not in _blocks(job, "resource", "aws_ecs_task_definition")["pretrain_leader"]
    assert "mountPoints" not in _locals(job)["pretrain_leader"]
    assert "repositoryCredentials" not in _locals(job)["pretrain_leader"]


def test_a_resource_group_of_reservations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = f"arn:aws:resource-groups:us-east-1:{ACCOUNT}:group/vision-odcrs"
    (tmp_path / "vision.py").write_text(
        "from ecsgen import Ec2, Job, Team\n"
        "team = Team(name='vision', region='us-east-1', jobs=[Job(name='resnet', "
        "image='r/x:1', command=['python', 't.py'], nodes=2, "
        f"compute=Ec2(instance_type='g5.2xlarge', reservation={group!r}))])\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    job = _render([Path("vision.py")])["vision"]["job_resnet.tf"]
    (template,) = _blocks(job, "resource", "aws_launch_template").values()
    assert template["capacity_reservation_specification"] == [
        {
            "capacity_reservation_target": [
                {"capacity_reservation_resource_group_arn": "var.resnet_reservation"}
            ]
        }
    ]
    (group_block,) = _blocks(job, "resource", "aws_autoscaling_group").values()
    assert group_block["vpc_zone_identifier"] == "var.subnet_ids", (
        "a resource group may span zones: the team's subnets"
    )


# -- a customer-managed KMS key (examples/specs/frontier.py) -----------------------------------

TEAM_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
EVAL_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def test_team_key_encrypts_logs_and_topic(examples: dict[str, dict[str, Any]]) -> None:
    job = examples["frontier"]["job_pretrain.tf"]
    groups = _blocks(job, "resource", "aws_cloudwatch_log_group")
    assert set(groups) == {"pretrain", "pretrain_states"}, "the containers' and the state machines'"
    assert {label: g["kms_key_id"] for label, g in groups.items()} == {
        "pretrain": TEAM_KEY,
        "pretrain_states": TEAM_KEY,
    }
    main = examples["frontier"]["main.tf"]
    topic = _blocks(main, "resource", "aws_sns_topic")["notifications"]
    assert topic["kms_master_key_id"] == TEAM_KEY
    assert "aws_kms_key" not in str(main), "with the team's key, no key of the module's own"
    other = examples["llm"]["main.tf"]
    topic = _blocks(other, "resource", "aws_sns_topic")["notifications"]
    assert topic["kms_master_key_id"] == "aws_kms_key.notifications.arn", (
        "no team key: a key of the module's own, which CloudWatch alarms may use"
    )
    assert "notifications" in _blocks(other, "resource", "aws_kms_key")
    for llm_group in _blocks(
        examples["llm"]["job_pretrain.tf"], "resource", "aws_cloudwatch_log_group"
    ).values():
        assert "kms_key_id" not in llm_group


def test_roles_may_use_exactly_their_keys(examples: dict[str, dict[str, Any]]) -> None:
    job = examples["frontier"]["job_pretrain.tf"]
    execution = _statements(job, "pretrain_execution")
    assert execution["DecryptSecrets"]["actions"] == ["kms:Decrypt"]
    assert execution["DecryptSecrets"]["resources"] == [TEAM_KEY]
    task = _statements(job, "pretrain_task")
    assert task["DatasetKeys"]["actions"] == ["kms:Decrypt"]
    assert task["DatasetKeys"]["resources"] == [EVAL_KEY], "the bucket's own key"
    assert task["CheckpointKeys"]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert task["CheckpointKeys"]["resources"] == [TEAM_KEY], "the team's key by default"
    states = _statements(job, "pretrain_states")
    assert states["NotifyKey"]["resources"] == [TEAM_KEY]
    for file in ("job_pretrain.tf", "job_eval.tf"):
        for label, statements in _blocks(
            examples["llm"][file], "data", "aws_iam_policy_document"
        ).items():
            if label.endswith("_states"):  # publishing to the topic under the module's own key
                assert "aws_kms_key.notifications.arn" in str(statements), (file, label)
                assert TEAM_KEY not in str(statements), (file, label)
            else:
                assert "kms" not in str(statements), (file, label)


def test_key_policy_statements_are_output_and_documented(
    examples: dict[str, dict[str, Any]],
) -> None:
    import json

    policy = _blocks(examples["frontier"]["main.tf"], "data", "aws_iam_policy_document")[
        "kms_key_policy"
    ]
    statements = {s["sid"]: s for s in policy["statement"]}
    logs = statements["CloudWatchLogs"]
    assert logs["principals"] == [
        {"type": "Service", "identifiers": ["logs.us-east-1.amazonaws.com"]}
    ]
    assert logs["condition"][0]["variable"] == "kms:EncryptionContext:aws:logs:arn"
    roles = statements["TrainingRoles"]["principals"][0]["identifiers"]
    assert roles == [
        f"aws_iam_role.{job}_{role}.arn"
        for job in ("neuron_7b", "pretrain")
        for role in ("execution", "task", "states")
    ]
    outputs = _blocks(examples["frontier"]["outputs.tf"], "output", "")
    assert outputs["kms_key_policy_statements"]["value"] == (
        "data.aws_iam_policy_document.kms_key_policy.json"
    )
    readme = examples["frontier"]["README.md"]
    block = readme.split("```json\n", 1)[1].split("```", 1)[0]
    documented = json.loads(block)
    assert [s["Sid"] for s in documented] == ["CloudWatchLogs", "TrainingRoles"]
    assert documented[1]["Principal"]["AWS"] == [
        f"arn:aws:iam::ACCOUNT_ID:role/frontier-{job}-{role}"
        for job in ("neuron-7b", "pretrain")
        for role in ("execution", "task", "states")
    ]
    assert "kms_key_policy" not in examples["llm"]["main.tf"].get("data", [{}])[0]


# -- Trainium (examples/specs/frontier.py, job neuron-7b) --------------------------------------


def test_trainium_container_has_neuron_devices_and_no_gpu(
    examples: dict[str, dict[str, Any]],
) -> None:
    job = examples["frontier"]["job_neuron_7b.tf"]
    container = _locals(job)["neuron_7b_leader"]
    assert "resourceRequirements" not in container, "ECS has no GPU on Trainium to reserve"
    devices = [d["hostPath"] for d in container["linuxParameters"]["devices"]]
    assert devices == [
        *(f"/dev/neuron{i}" for i in range(16)),
        *(f"/dev/infiniband/uverbs{i}" for i in range(8)),
    ]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["PET_NPROC_PER_NODE"] == "32", "one process per NeuronCore"
    assert env["FI_EFA_USE_DEVICE_RDMA"] == "1"
    assert not [k for k in env if k.startswith(("NCCL_", "NVIDIA_", "CUDA_"))]


def test_trainium_instances_use_the_neuron_ami(examples: dict[str, dict[str, Any]]) -> None:
    (template,) = _blocks(
        examples["frontier"]["job_neuron_7b.tf"], "resource", "aws_launch_template"
    ).values()
    assert template["image_id"] == "local.neuron_ami_id"
    assert len(template["network_interfaces"]) == 8
    parameters = _blocks(examples["frontier"]["main.tf"], "data", "aws_ssm_parameter")
    assert parameters["neuron_ami"]["name"] == (
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/neuron/recommended/image_id"
    )
    assert "neuron_ami" not in _blocks(examples["llm"]["main.tf"], "data", "aws_ssm_parameter")


def test_neuron_catalog_rows() -> None:
    trn1 = catalog.CATALOG["trn1.32xlarge"]
    assert (trn1.neuron_devices, trn1.neuron_cores, trn1.efa_interfaces) == (16, 32, 8)
    assert trn1.gpus == 0 and trn1.accelerators == 32
    trn2 = catalog.CATALOG["trn2.48xlarge"]
    assert (trn2.neuron_devices, trn2.neuron_cores, trn2.efa_interfaces) == (16, 64, 16)
    assert not any(t.spot for t in catalog.CATALOG.values() if t.neuron)


def test_fargate_can_run_arm64(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vision.py").write_text(
        "from ecsgen import Fargate, Job, Team\n"
        "team = Team(name='vision', region='us-east-1', jobs=[Job(name='eval', "
        "image='r/x:1', command=['python', 't.py'], "
        "compute=Fargate(cpu=1024, memory=2048, cpu_architecture='ARM64'))])\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    job = _render([Path("vision.py")])["vision"]["job_eval.tf"]
    for role in ("leader", "worker"):
        definition = _blocks(job, "resource", "aws_ecs_task_definition")[f"eval_{role}"]
        assert definition["runtime_platform"] == [
            {"operating_system_family": "LINUX", "cpu_architecture": "ARM64"}
        ]


# -- Graviton GPU instances (tests/cases/graviton: g5g beside g5) ------------------------------


@pytest.fixture(scope="module")
def graviton() -> dict[str, Any]:
    import os

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        return _render([Path("tests/cases/graviton/spec.py")])["arm"]
    finally:
        os.chdir(cwd)


def test_g5g_task_definitions_run_arm64(graviton: dict[str, Any]) -> None:
    for job, arch in (("t4g", "ARM64"), ("a10g", "X86_64")):
        definitions = _blocks(graviton[f"job_{job}.tf"], "resource", "aws_ecs_task_definition")
        for role in ("leader", "worker"):
            assert definitions[f"{job}_{role}"]["runtime_platform"] == [
                {"operating_system_family": "LINUX", "cpu_architecture": arch}
            ]
            assert definitions[f"{job}_{role}"]["requires_compatibilities"] == ["EC2"]
    container = _locals(graviton["job_t4g.tf"])["t4g_leader"]
    assert container["resourceRequirements"] == [{"type": "GPU", "value": "2"}]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert env["PET_NPROC_PER_NODE"] == "2", "one process per T4G"


def test_g5g_boots_the_teams_own_ami(graviton: dict[str, Any]) -> None:
    (t4g,) = _blocks(graviton["job_t4g.tf"], "resource", "aws_launch_template").values()
    (a10g,) = _blocks(graviton["job_a10g.tf"], "resource", "aws_launch_template").values()
    assert t4g["instance_type"] == "g5g.16xlarge"
    assert t4g["image_id"] == "var.t4g_ami_id"
    assert a10g["image_id"] == "local.ami_id", "x86_64 GPU jobs keep the ECS GPU AMI"
    variable = _blocks(graviton["variables.tf"], "variable", "")["t4g_ami_id"]
    assert variable["default"] == "ami-0a1b2c3d4e5f60718"
    assert variable["nullable"] is False
    parameters = _blocks(graviton["main.tf"], "data", "aws_ssm_parameter")
    assert parameters["gpu_ami"]["name"].endswith("/amazon-linux-2023/gpu/recommended/image_id")
    user_data = _locals(graviton["job_t4g.tf"])["t4g_user_data"]
    assert "ECS_ENABLE_GPU_SUPPORT=true" in str(user_data)
    assert "ECS_ENABLE_GPU_SUPPORT" not in str(_locals(graviton["job_a10g.tf"])["a10g_user_data"])
    readme = graviton["README.md"]
    assert "## Graviton (arm64) GPU instances" in readme
    assert "**the job's image must be built for arm64**" in readme


def test_a_team_of_g5g_jobs_reads_no_public_gpu_ami(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vision.py").write_text(
        "from ecsgen import Ec2, Job, Team\n"
        "team = Team(name='vision', region='us-east-1', jobs=[Job(name='resnet', "
        "image='r/x:1', command=['python', 't.py'], "
        "compute=Ec2(instance_type='g5g.xlarge', ami_id='ami-0123abcd'))])\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    team = _render([Path("vision.py")])["vision"]
    assert not _blocks(team["main.tf"], "data", "aws_ssm_parameter")
    variables = _blocks(team["variables.tf"], "variable", "")
    assert "resnet_ami_id" in variables
    assert "ami_id" not in variables and "neuron_ami_id" not in variables
    assert "local.ami_id" not in str(team["job_resnet.tf"])


def test_g5g_rows_match_the_ec2_api() -> None:
    """The catalog's g5g rows against moto's copy of EC2 DescribeInstanceTypes: arm64 only,
    vCPUs, memory, T4g GPUs and their memory, no EFA, Spot offered."""
    import gzip
    import json

    import moto

    path = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    api = json.loads(gzip.decompress(path.read_bytes()))
    rows = [t for t in catalog.CATALOG.values() if t.name.startswith("g5g.")]
    assert [t.name for t in rows] == sorted((n for n in api if n.startswith("g5g.")), key=_size)
    for row in rows:
        info = api[row.name]
        (gpu,) = info["GpuInfo"]["Gpus"]
        assert info["ProcessorInfo"]["SupportedArchitectures"] == ["arm64"]
        assert row.arm64 and row.cpu_architecture == "ARM64"
        assert row.vcpus == info["VCpuInfo"]["DefaultVCpus"]
        assert row.memory_gib * 1024 == info["MemoryInfo"]["SizeInMiB"]
        assert (row.gpus, gpu["Name"].upper()) == (gpu["Count"], "T4G")
        assert row.gpu_memory_gib * 1024 == gpu["MemoryInfo"]["SizeInMiB"]
        assert row.efa_interfaces == 0 and not info["NetworkInfo"]["EfaSupported"]
        assert row.spot == ("spot" in info["SupportedUsageClasses"])
    assert [t.name for t in catalog.CATALOG.values() if t.arm64] == [t.name for t in rows]
    for name in ("inf2.xlarge", "inf2.48xlarge"):
        assert name not in catalog.CATALOG
        assert not api[name]["NetworkInfo"]["EfaSupported"], "why inf2 is refused: no EFA"


def _size(name: str) -> tuple[int, str]:
    """EC2 sizes in the catalog's order: ascending vCPU-like size, metal last."""
    size = name.split(".")[1]
    return (1 << 30 if size == "metal" else int(size.removesuffix("xlarge") or 1), name)


@pytest.mark.terraform
def test_the_modules_ami_variable_refuses_what_the_spec_refuses(
    terraform: Any, tmp_path: Path
) -> None:
    """The generated `<job>_ami_id` rule, planned by Terraform on its own (no provider): the
    spec's forms pass, others fail with the variable's message."""
    text = (ROOT / "tests" / "cases" / "graviton" / "expected" / "variables.tf").read_text()
    start = text.index('variable "t4g_ami_id" {')
    block = text[start : text.index("\n}\n", start) + 3]
    (tmp_path / "main.tf").write_text(block, encoding="utf-8")
    terraform.ok("init", "-backend=false", "-input=false", cwd=tmp_path, timeout=120)
    for value, ok in (
        ("ami-0a1b2c3d4e5f60718", True),
        ("ami-0123abcd", True),
        ("ami-12345", False),
        ("ami-0A1B2C3D4E5F60718", False),
        ("0a1b2c3d4e5f60718", False),
    ):
        result = terraform.run("plan", "-no-color", f"-var=t4g_ami_id={value}", cwd=tmp_path)
        assert (result.returncode == 0) is ok, (value, result.stdout + result.stderr)
        if not ok:
            assert "Use an AMI ID" in result.stderr, result.stderr


@pytest.mark.terraform
def test_the_capacity_generation_names_the_group_and_provider(
    terraform: Any, tmp_path: Path
) -> None:
    """`<job>_capacity_generation` and the capacity name local, planned by Terraform on their
    own (no provider): generation 0 keeps the name modules had before it existed, N gives
    `<team>-<job>-gN`, and the rule refuses what is not a whole number from 0 to 999."""
    expected = ROOT / "tests" / "cases" / "graviton" / "expected"
    variables = (expected / "variables.tf").read_text(encoding="utf-8")
    start = variables.index('variable "t4g_capacity_generation" {')
    job = (expected / "job_t4g.tf").read_text(encoding="utf-8")
    (local,) = [line for line in job.splitlines() if line.startswith("  t4g_capacity_name ")]
    (tmp_path / "main.tf").write_text(
        variables[start : variables.index("\n}\n", start) + 3]
        + f'\nlocals {{\n{local}\n}}\n\noutput "name" {{\n  value = local.t4g_capacity_name\n}}\n',
        encoding="utf-8",
    )
    terraform.ok("init", "-backend=false", "-input=false", cwd=tmp_path, timeout=120)
    for value, name in (("0", "arm-t4g"), ("1", "arm-t4g-g1"), ("999", "arm-t4g-g999")):
        terraform.ok(
            "apply", "-auto-approve", f"-var=t4g_capacity_generation={value}", cwd=tmp_path
        )
        assert json.loads(terraform.ok("output", "-json", "name", cwd=tmp_path)) == name
    for value in ("-1", "1000", "1.5"):
        result = terraform.run(
            "plan", "-no-color", f"-var=t4g_capacity_generation={value}", cwd=tmp_path
        )
        assert result.returncode != 0, value
        assert "Use a whole number from 0 to 999." in result.stderr, result.stderr
