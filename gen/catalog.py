"""EC2 GPU instance catalog (data only).

Figures per instance type: GPU count, GPU model, per-GPU memory, vCPUs, nominal memory,
maximum EFA interfaces, Spot availability.

Sources (read 2026-08; repository commits pinned):

- [KARP] aws/karpenter-provider-aws @fbab471048e8d3dc4854c2e9f464dfbb126006b6
  ``website/content/en/docs/reference/instance-types.md``. Generated from the EC2
  DescribeInstanceTypes API (hack/docs/instancetypes_gen_docs.go). Used for vCPU
  (``instance-cpu``), memory (``instance-memory`` MiB / 1024), GPU count/name/memory and
  ``vpc.amazonaws.com/efa``. That resource is ``NetworkInfo.EfaInfo.MaximumEfaInterfaces``
  (``efas()`` in ``pkg/providers/instancetype/types.go`` @538ac5f53cfe98a7b01048eea388182bfd93c358).
  Primary source for every figure below.
- [TORCHX] meta-pytorch/torchx @3297a6e2d0be496feaa688980e2b5ed5175f06ab
  ``torchx/specs/named_resources_aws.py`` (cpu, gpu, memMB = nominal GiB * 1024 * 0.96,
  EFA device counts). Cross-check. It agrees with [KARP] everywhere it has data. The one
  difference: it gives no EFA device for g6e.8xlarge/12xlarge/16xlarge, and [KARP] gives 1.
  The EC2 API figure from [KARP] is used.
- [SKY] skypilot-org/skypilot-catalog @00148f2af3672e2229b4f7bf8157d5a3f36e3c35
  ``catalogs/v8/aws/vms.csv`` (non-empty ``SpotPrice`` column = offered as Spot in at least
  one AZ). Spot prices were seen for every family here. They were seen per size for
  every p3/p3dn/p4d/p4de/p5/p5e/p5en/p6-b200 and g6e size, and for g4dn.4xlarge/8xlarge,
  g5.xlarge/8xlarge and g6.xlarge. Other g4dn/g5/g6 sizes are assumed to follow their
  family. Spot capacity varies by region and AZ.
- [EFA-DOC] https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html
  (P5/P5e: up to 32 network cards; G6e: up to 4 network cards).
- [CB] Capacity Blocks for ML: the EC2 user guide
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-capacity-blocks.html) and the types
  SageMaker reserves the same way (botocore 1.44 ``sagemaker`` ``ReservedCapacityInstanceType``:
  p4d, p4de, p5.4xlarge, p5.48xlarge, p5e, p5en, p6-b200, trn1.32xlarge, trn2.48xlarge).
- [NEURON] AWS Neuron documentation: Trn1/Trn1n architecture (16 Trainium, 2 NeuronCore-v2
  each; https://awsdocs-neuron.readthedocs-hosted.com/en/latest/general/arch/neuron-hardware/
  trn1-arch.html), logical NeuronCore configuration and the training best practices for
  trn2.48xlarge ("the default Logical NeuronCore configuration 2 (LNC2) ... 64 ranks per
  instance"; https://awsdocs-neuron.readthedocs-hosted.com/en/latest/training/best-practices.html).
- [EC2-API] moto 5.2.5's copy of EC2 DescribeInstanceTypes (``moto/ec2/resources/
  instance_types.json.gz``): g5g is ``arm64`` only, ``SupportedUsageClasses`` on-demand and spot,
  ``EfaSupported`` false, T4g GPUs with 16384 MiB (tests/test_capacity_and_data.py compares the
  g5g rows with it). Also in [KARP] (``kubernetes.io/arch`` arm64, ``nvidia.com/gpu``; no
  ``vpc.amazonaws.com/efa``).
- Project notes: /work/shared/research/distributed-training-on-ecs.md section 2.4.

Conventions:

- ``memory_gib`` is nominal instance memory. ECS registers less than this (see research
  notes section 2.5).
- ``gpu_memory_gib`` is the nominal per-GPU figure AWS uses in its specifications. The EC2
  API reports A10G/L4 as 22888 MiB and L40S as 45776 MiB, i.e. 24 GB / 48 GB decimal.
  The catalog uses 24 / 48. H200 is 144384 MiB = 141 GiB. B200 is 183359 MiB = 179 GiB.
- ``efa_interfaces`` is MaximumEfaInterfaces (0 = no EFA support).
- Entries are sorted by family, then by size (ascending vCPU, ``metal`` last).
- Every entry currently has ``confirmed=True``: each figure was found in [KARP], with
  Spot from [SKY].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class InstanceType:
    name: str  # "p4d.24xlarge"
    gpus: int  # number of GPUs
    gpu_model: str  # "NVIDIA A100 40GB"
    gpu_memory_gib: int  # per GPU
    vcpus: int
    memory_gib: int  # nominal instance memory
    efa_interfaces: int  # max EFA interfaces (= EFA network cards); 0 = no EFA
    spot: bool  # offered as Spot
    confirmed: bool = True  # False when a figure is not confirmed by a source
    capacity_block: bool = False  # sold as EC2 Capacity Blocks for ML ([CB])
    # AWS Trainium: Neuron devices (`gpus` is 0 then; `gpu_model` and `gpu_memory_gib` describe
    # one device) and the NeuronCores torchrun starts one process on at the default logical
    # NeuronCore configuration ([NEURON]).
    neuron_devices: int = 0
    neuron_cores: int = 0
    # The CPU architecture, as ECS's runtime_platform spells it; "ARM64" for Graviton (g5g).
    cpu_architecture: str = "X86_64"

    @property
    def efa(self) -> bool:
        return self.efa_interfaces > 0

    @property
    def neuron(self) -> bool:
        return self.neuron_devices > 0

    @property
    def arm64(self) -> bool:
        """Graviton: AWS publishes no ECS-optimized arm64 GPU AMI, so these types need the
        team's own (`Ec2(ami_id=...)`)."""
        return self.cpu_architecture == "ARM64"

    @property
    def accelerators(self) -> int:
        """What one torchrun process per node drives: a GPU, or a NeuronCore."""
        return self.neuron_cores if self.neuron else self.gpus


_T4 = "NVIDIA T4 16GB"
_T4G = "NVIDIA T4G 16GB"
_A10G = "NVIDIA A10G 24GB"
_L4 = "NVIDIA L4 24GB"
_L40S = "NVIDIA L40S 48GB"
_V100 = "NVIDIA V100 16GB"
_V100_32 = "NVIDIA V100 32GB"
_A100_40 = "NVIDIA A100 40GB"
_A100_80 = "NVIDIA A100 80GB"
_H100 = "NVIDIA H100 80GB"
_H200 = "NVIDIA H200 141GB"
_B200 = "NVIDIA B200 179GB"
_TRN1 = "AWS Trainium 32GB"
_TRN2 = "AWS Trainium2 96GB"

# Columns: name, gpus, gpu_model, gpu_memory_gib, vcpus, memory_gib, efa_interfaces, spot
_ENTRIES: tuple[InstanceType, ...] = (
    # g4dn: NVIDIA T4. EFA on 8xlarge and larger (1 interface). [KARP], [TORCHX].
    InstanceType("g4dn.xlarge", 1, _T4, 16, 4, 16, 0, True),
    InstanceType("g4dn.2xlarge", 1, _T4, 16, 8, 32, 0, True),
    InstanceType("g4dn.4xlarge", 1, _T4, 16, 16, 64, 0, True),
    InstanceType("g4dn.8xlarge", 1, _T4, 16, 32, 128, 1, True),
    InstanceType("g4dn.12xlarge", 4, _T4, 16, 48, 192, 1, True),
    InstanceType("g4dn.16xlarge", 1, _T4, 16, 64, 256, 1, True),
    InstanceType("g4dn.metal", 8, _T4, 16, 96, 384, 1, True),
    # g5: NVIDIA A10G. EFA on 8xlarge and larger (1 interface). [KARP], [TORCHX].
    InstanceType("g5.xlarge", 1, _A10G, 24, 4, 16, 0, True),
    InstanceType("g5.2xlarge", 1, _A10G, 24, 8, 32, 0, True),
    InstanceType("g5.4xlarge", 1, _A10G, 24, 16, 64, 0, True),
    InstanceType("g5.8xlarge", 1, _A10G, 24, 32, 128, 1, True),
    InstanceType("g5.12xlarge", 4, _A10G, 24, 48, 192, 1, True),
    InstanceType("g5.16xlarge", 1, _A10G, 24, 64, 256, 1, True),
    InstanceType("g5.24xlarge", 4, _A10G, 24, 96, 384, 1, True),
    InstanceType("g5.48xlarge", 8, _A10G, 24, 192, 768, 1, True),
    # g5g: AWS Graviton2 (arm64) with NVIDIA T4G. No EFA. [KARP], [EC2-API] (Spot offered).
    InstanceType("g5g.xlarge", 1, _T4G, 16, 4, 8, 0, True, cpu_architecture="ARM64"),
    InstanceType("g5g.2xlarge", 1, _T4G, 16, 8, 16, 0, True, cpu_architecture="ARM64"),
    InstanceType("g5g.4xlarge", 1, _T4G, 16, 16, 32, 0, True, cpu_architecture="ARM64"),
    InstanceType("g5g.8xlarge", 1, _T4G, 16, 32, 64, 0, True, cpu_architecture="ARM64"),
    InstanceType("g5g.16xlarge", 2, _T4G, 16, 64, 128, 0, True, cpu_architecture="ARM64"),
    InstanceType("g5g.metal", 2, _T4G, 16, 64, 128, 0, True, cpu_architecture="ARM64"),
    # g6: NVIDIA L4. EFA on 8xlarge and larger (1 interface). [KARP] (not in [TORCHX]).
    InstanceType("g6.xlarge", 1, _L4, 24, 4, 16, 0, True),
    InstanceType("g6.2xlarge", 1, _L4, 24, 8, 32, 0, True),
    InstanceType("g6.4xlarge", 1, _L4, 24, 16, 64, 0, True),
    InstanceType("g6.8xlarge", 1, _L4, 24, 32, 128, 1, True),
    InstanceType("g6.12xlarge", 4, _L4, 24, 48, 192, 1, True),
    InstanceType("g6.16xlarge", 1, _L4, 24, 64, 256, 1, True),
    InstanceType("g6.24xlarge", 4, _L4, 24, 96, 384, 1, True),
    InstanceType("g6.48xlarge", 8, _L4, 24, 192, 768, 1, True),
    # g6e: NVIDIA L40S. EFA: 8xl/12xl/16xl = 1 ([KARP]; absent in [TORCHX]), 24xl = 2, 48xl = 4.
    InstanceType("g6e.xlarge", 1, _L40S, 48, 4, 32, 0, True),
    InstanceType("g6e.2xlarge", 1, _L40S, 48, 8, 64, 0, True),
    InstanceType("g6e.4xlarge", 1, _L40S, 48, 16, 128, 0, True),
    InstanceType("g6e.8xlarge", 1, _L40S, 48, 32, 256, 1, True),
    InstanceType("g6e.12xlarge", 4, _L40S, 48, 48, 384, 1, True),
    InstanceType("g6e.16xlarge", 1, _L40S, 48, 64, 512, 1, True),
    InstanceType("g6e.24xlarge", 4, _L40S, 48, 96, 768, 2, True),
    InstanceType("g6e.48xlarge", 8, _L40S, 48, 192, 1536, 4, True),
    # p3: NVIDIA V100 16GB, Xen, no EFA. [KARP], [TORCHX].
    InstanceType("p3.2xlarge", 1, _V100, 16, 8, 61, 0, True),
    InstanceType("p3.8xlarge", 4, _V100, 16, 32, 244, 0, True),
    InstanceType("p3.16xlarge", 8, _V100, 16, 64, 488, 0, True),
    # p3dn: NVIDIA V100 32GB, 1 EFA interface. [KARP], [TORCHX].
    InstanceType("p3dn.24xlarge", 8, _V100_32, 32, 96, 768, 1, True),
    # p4d / p4de: NVIDIA A100 40GB / 80GB, 4 EFA interfaces. [KARP], [TORCHX].
    InstanceType("p4d.24xlarge", 8, _A100_40, 40, 96, 1152, 4, True, capacity_block=True),
    InstanceType("p4de.24xlarge", 8, _A100_80, 80, 96, 1152, 4, True, capacity_block=True),
    # p5: NVIDIA H100. 4xlarge = 1 GPU / 1 EFA ([KARP] only); 48xlarge = 32 EFA. [KARP], [TORCHX].
    InstanceType("p5.4xlarge", 1, _H100, 80, 16, 256, 1, True, capacity_block=True),
    InstanceType("p5.48xlarge", 8, _H100, 80, 192, 2048, 32, True, capacity_block=True),
    # p5e / p5en: NVIDIA H200, 32 / 16 EFA interfaces. [KARP], [TORCHX].
    InstanceType("p5e.48xlarge", 8, _H200, 141, 192, 2048, 32, True, capacity_block=True),
    InstanceType("p5en.48xlarge", 8, _H200, 141, 192, 2048, 16, True, capacity_block=True),
    # p6-b200: NVIDIA B200, 8 EFA interfaces. [KARP] (not in [TORCHX]); Spot per [SKY].
    InstanceType("p6-b200.48xlarge", 8, _B200, 179, 192, 2048, 8, True, capacity_block=True),
    # trn1 / trn1n / trn2: AWS Trainium (Neuron devices, no GPU, no CUDA). [KARP]: vCPU, memory,
    # aws.amazon.com/neuron (devices), aws.amazon.com/neuroncore (physical cores),
    # vpc.amazonaws.com/efa. [NEURON]: Trainium has 2 NeuronCore-v2 (trn1 supports LNC 1 only:
    # 32 ranks per 32xlarge); Trainium2 has 8 NeuronCore-v3 with 96 GiB HBM, paired by the
    # default LNC 2 into 4 logical cores: 64 ranks per trn2.48xlarge. Spot not checked: False.
    InstanceType("trn1.2xlarge", 0, _TRN1, 32, 8, 32, 0, False, neuron_devices=1, neuron_cores=2),
    InstanceType(
        "trn1.32xlarge",
        0,
        _TRN1,
        32,
        128,
        512,
        8,
        False,
        capacity_block=True,
        neuron_devices=16,
        neuron_cores=32,
    ),
    InstanceType(
        "trn1n.32xlarge", 0, _TRN1, 32, 128, 512, 16, False, neuron_devices=16, neuron_cores=32
    ),
    InstanceType(
        "trn2.48xlarge",
        0,
        _TRN2,
        96,
        192,
        2048,
        16,
        False,
        capacity_block=True,
        neuron_devices=16,
        neuron_cores=64,
    ),
)

CATALOG: Mapping[str, InstanceType] = MappingProxyType({t.name: t for t in _ENTRIES})

# Accelerated families ecsgen refuses by name, with the reason (instead of "not in the catalog").
# AWS Inferentia is built for inference: the Neuron documentation lists PyTorch NeuronX "for
# training on Trn1 and Trn2" and "for inference on Inf2, Trn1, and Trn2"
# (https://awsdocs-neuron.readthedocs-hosted.com/en/latest/neuron-intro/pytorch-setup/
# pytorch-install-prev.html), and no inf2 size has EFA ([KARP], [EC2-API]) for the collectives
# of a multi-node run. Inf1's torch-neuron does not train at all.
REFUSED_FAMILIES: Mapping[str, str] = MappingProxyType(
    {
        "inf1": "AWS Inferentia (inf1) runs inference only (torch-neuron does not train)",
        "inf2": (
            "AWS Inferentia2 (inf2) is built for inference: Neuron supports PyTorch training on "
            "Trainium (trn1, trn1n, trn2), and no inf2 size has EFA for multi-node collectives"
        ),
    }
)

SOURCES: tuple[str, ...] = (
    (
        "https://github.com/aws/karpenter-provider-aws/blob/"
        "fbab471048e8d3dc4854c2e9f464dfbb126006b6"
        "/website/content/en/docs/reference/instance-types.md"
    ),
    (
        "https://github.com/aws/karpenter-provider-aws/blob/"
        "538ac5f53cfe98a7b01048eea388182bfd93c358"
        "/pkg/providers/instancetype/types.go"
    ),
    (
        "https://github.com/meta-pytorch/torchx/blob/"
        "3297a6e2d0be496feaa688980e2b5ed5175f06ab"
        "/torchx/specs/named_resources_aws.py"
    ),
    (
        "https://github.com/skypilot-org/skypilot-catalog/blob/"
        "00148f2af3672e2229b4f7bf8157d5a3f36e3c35"
        "/catalogs/v8/aws/vms.csv"
    ),
    "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html",
    "/work/shared/research/distributed-training-on-ecs.md#2.4",
)
