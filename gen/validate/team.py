"""`Team(...)`: name, region, tags, network, log retention, notifications and its jobs (unique
names; EFA subnets; the derived names the team's name alone makes impossible)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from ..errors import shown
from ..names import job_names, team_names
from ..spec import Job, Team
from ..validate.checker import MISSING, Checker
from ..validate.config import Ec2Compute, TeamConfig
from ..validate.job import check_job
from ..validate.kms import check_kms_key
from ..validate.limits import (
    LOG_RETENTION_DAYS,
    MAX_TEAM_AND_JOB,
    MODULE_TAGS,
    NOTIFY_EMAIL,
    REGION,
    RESERVED_TAG_KEYS,
    SNS_TOPIC_ARN,
    TAG_LIMIT,
    TAG_PUNCTUATION,
    TAG_RULE,
)
from ..validate.network import check_network

__all__ = ["check_team"]


def check_team(check: Checker, team: Team, source: str, path: Path) -> TeamConfig | None:
    given = check.fields(team, "", ("name", "region", "jobs"))
    name = check.name(team, "name", given.get("name")) if "name" in given else None
    check.team = name
    region = (
        check.typed(team, "region", given.get("region"), str, "an AWS region")
        if "region" in given
        else None
    )
    if region is not None and not REGION.fullmatch(region):
        check.fail(team, "region", f"{shown(region)} is not an AWS region name (e.g. us-east-1)")
        region = None
    tags = _tags(check, team, given.get("tags", {}))
    vpc_id, subnet_ids = check_network(check, team, given.get("network"))
    retention = check.typed(
        team, "log_retention_days", given.get("log_retention_days", 90), int, "a number of days"
    )
    if retention is not None and retention not in LOG_RETENTION_DAYS:
        check.fail(
            team,
            "log_retention_days",
            f"CloudWatch Logs does not accept {shown(retention)}; "
            f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
        retention = None
    notify = _notify(check, team, given.get("notify", ()), region)
    keep_logs = check.typed(team, "keep_logs", given.get("keep_logs", False), bool, "True or False")
    kms_key = None
    if given.get("kms_key_arn") is not None:
        kms_key = check_kms_key(check, team, "kms_key_arn", given["kms_key_arn"], region)
    job_nodes = (
        check.items(team, "jobs", given.get("jobs", ()), Job, "Job(...)") if "jobs" in given else []
    )
    if "jobs" in given and not job_nodes and given["jobs"] is not MISSING:
        check.fail(team, "jobs", "a team needs at least one Job(...)")
    jobs = [check_job(check, name, i, j) for i, j in enumerate(job_nodes)]
    seen: dict[str, int] = {}
    for index, job in enumerate(jobs):
        if job is None:
            continue
        if job.name in seen:
            check.fail(
                job_nodes[index],
                f"jobs[{index}].name",
                f"job name {shown(job.name)} is "
                f"already used by jobs[{seen[job.name]}]; job names are unique in a team",
            )
        seen.setdefault(job.name, index)
        compute = job.compute
        if (
            isinstance(compute, Ec2Compute)
            and compute.single_az
            and compute.subnet_ids is None
            and subnet_ids is not None
            and len(subnet_ids) != 1
        ):
            why = "EFA" if compute.efa else "its reservation's zone"
            check.fail(
                job_nodes[index],
                f"jobs[{index}]({job.name}).compute.subnet_ids",
                f"{why} needs exactly one subnet (one AZ) and network.subnet_ids has "
                f"{len(subnet_ids)}; give the job its own Ec2(subnet_ids=[ONE])",
            )
    if name is not None:
        ec2 = any(isinstance(j.compute, Ec2Compute) for j in jobs if j is not None)
        derived = (*team_names(name).all(ec2), *job_names(name, "j").all(ec2))
        first = next((d for d in derived if d.problem()), None)
        if first is not None and len(first.value) <= first.limit:
            check.fail(
                team,
                "name",
                f"team {shown(name)} begins every {first.kind} (<team>-<job>), which AWS "
                f"refuses to start with {' or '.join(repr(p) for p in first.forbidden_prefixes)}:"
                " rename the team (renaming the job cannot help)",
            )
        elif first is not None:
            check.fail(
                team,
                "name",
                f"team {shown(name)} ({len(name)} characters) makes {first.problem()} whatever "
                f"the job's name; a team and a job name together have at most "
                f"{MAX_TEAM_AND_JOB} characters: shorten the team name",
            )
    if check.problems or name is None or region is None or tags is None or retention is None:
        return None
    return TeamConfig(
        name,
        region,
        tags,
        vpc_id,
        subnet_ids,
        retention,
        tuple(j for j in jobs if j is not None),
        source,
        path,
        notify_emails=tuple(sorted(a for a in notify if not a.startswith("arn:"))),
        notify_topics=tuple(sorted(a for a in notify if a.startswith("arn:"))),
        keep_logs=bool(keep_logs),
        kms_key_arn=kms_key,
    )


def _notify(check: Checker, team: Team, value: object, region: str | None) -> tuple[str, ...]:
    """E-mail addresses to subscribe, and existing SNS topics (ARNs) to forward to."""
    found: list[str] = []
    for index, item in enumerate(check.items(team, "notify", value, str, "a string")):
        where = f"notify[{index}]"
        topic = SNS_TOPIC_ARN.fullmatch(item)
        if topic:
            if region is not None and topic["region"] != region:
                check.fail(
                    team,
                    where,
                    f"{item!r} is in {topic['region']}; the jobs publish from {region}, "
                    "and SNS takes messages only from its own region: use a topic in "
                    f"{region}",
                )
                continue
        elif item.startswith("arn:") or not NOTIFY_EMAIL.fullmatch(item):
            check.fail(
                team,
                where,
                f"{item!r} is neither an e-mail address nor an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)",
            )
            continue
        found.append(item)
    if len(set(found)) != len(found):
        check.fail(team, "notify", "lists an address or topic twice")
    return tuple(found)


def _tag_text(text: str) -> bool:
    if _TAG_ASCII.issuperset(text):  # the usual case, without a Unicode lookup per character
        return True
    return all(c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


# The ASCII characters `_tag_text` accepts: letters and digits (L, N), space (Z), punctuation.
_TAG_ASCII = frozenset(
    c for c in map(chr, range(128)) if c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ"
)


def _tags(check: Checker, node: Team, value: object) -> tuple[tuple[str, str], ...] | None:
    raw = check.mapping(node, "tags", value)
    if raw is None:
        return None
    tags: list[tuple[str, str]] = []
    for key, item in raw.items():
        where = f"tags[{shown(key)}]"
        if not isinstance(key, str) or not isinstance(item, str):
            check.fail(
                node, where, f"keys and values must be strings, got {shown(key)}: {shown(item)}"
            )
        elif not key or len(key) > 128 or len(item) > 256:
            check.fail(node, where, "AWS allows keys of 1-128 and values of 0-256 characters")
        elif key.lower().startswith("aws:"):
            check.fail(node, where, "the aws: prefix is reserved by AWS")
        elif key in RESERVED_TAG_KEYS or key.startswith("ecsgen:"):
            check.fail(
                node,
                where,
                f"{shown(key)} is set by ecsgen (reserved: "
                f"{', '.join(sorted(RESERVED_TAG_KEYS))} and ecsgen:*)",
            )
        elif not (_tag_text(key) and _tag_text(item)):
            bad = sorted({c for c in key + item if not _tag_text(c)})
            check.fail(node, where, f"{shown(bad)} cannot appear in AWS tags; use {TAG_RULE}")
        else:
            tags.append((key, item))
    if len(raw) > TAG_LIMIT - MODULE_TAGS:
        check.fail(
            node,
            "tags",
            f"{len(raw)} tags: AWS allows {TAG_LIMIT} per resource and "
            f"ecsgen adds {MODULE_TAGS}, so at most {TAG_LIMIT - MODULE_TAGS}",
        )
    return tuple(sorted(tags))
