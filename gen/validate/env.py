"""A job's `env` and `secrets`: variable names, the rendezvous names ecsgen reserves, and the
credential rule (a credential goes in `secrets`, never in plain environment)."""

from __future__ import annotations

import re

from ..errors import shown
from ..spec import Job
from ..validate.checker import Checker, control_reason
from ..validate.limits import (
    CREDENTIAL_PARTS,
    CREDENTIAL_RULE,
    CREDENTIAL_WORDS,
    ENV_NAME,
    NOT_CREDENTIALS,
    RESERVED_ENV,
    RESERVED_ENV_PREFIXES,
    SECRET_ARN,
)

__all__ = ["check_env", "check_secrets", "is_credential_name"]


def is_credential_name(name: str) -> bool:
    """True when an environment variable name looks like it holds a credential."""
    upper = name.upper()
    if upper in NOT_CREDENTIALS:
        return False
    words = [w for w in re.split(r"[_0-9]+", upper) if w]
    return (
        any(part in upper for part in CREDENTIAL_PARTS)
        or any(w in CREDENTIAL_WORDS for w in words)
        or (len(words) > 1 and words[-1] == "KEY")
    )


def _env_name(check: Checker, job: Job, path: str, name: str, *, secret: bool) -> bool:
    if not ENV_NAME.fullmatch(name):
        check.fail(
            job,
            path,
            f"{shown(name)} is not an environment variable name: "
            "use letters, digits and underscores, not starting with a digit",
        )
        return False
    if name in RESERVED_ENV or name.startswith(RESERVED_ENV_PREFIXES):
        check.fail(
            job,
            path,
            f"{shown(name)} collides with the rendezvous contract ecsgen sets "
            f"(reserved: {', '.join(sorted(RESERVED_ENV))} and the prefixes "
            f"{', '.join(RESERVED_ENV_PREFIXES)}); rename it",
        )
        return False
    if not secret and is_credential_name(name):
        check.fail(
            job,
            path,
            f"{shown(name)} looks like a credential ({CREDENTIAL_RULE}); plain environment is "
            "visible to anyone who can read the task definition: put it in `secrets` as a "
            "Secrets Manager or SSM parameter ARN",
        )
        return False
    return True


def check_env(check: Checker, job: Job, path: str, value: object) -> dict[str, str] | None:
    raw = check.mapping(job, path, value)
    if raw is None:
        return None
    env: dict[str, str] = {}
    ok = True
    for key, item in raw.items():
        if not isinstance(key, str) or not isinstance(item, str):
            check.fail(
                job,
                f"{path}[{shown(key)}]",
                f"names and values must be strings, got {shown(key)}: {shown(item)} "
                '(quote numbers: "90")',
            )
            ok = False
        elif control_reason(item):
            check.fail(job, f"{path}[{shown(key)}]", f"{shown(item)} {control_reason(item)}")
            ok = False
        elif _env_name(check, job, f"{path}[{shown(key)}]", key, secret=False):
            env[key] = item
        else:
            ok = False
    return env if ok else None


def check_secrets(
    check: Checker, job: Job, path: str, value: object, env: dict[str, str] | None
) -> dict[str, str] | None:
    raw = check.mapping(job, path, value)
    if raw is None:
        return None
    secrets: dict[str, str] = {}
    ok = True
    for key, arn in raw.items():
        where = f"{path}[{shown(key)}]"
        if not isinstance(key, str) or not isinstance(arn, str):
            check.fail(
                job, where, f"names and ARNs must be strings, got {shown(key)}: {shown(arn)}"
            )
            ok = False
            continue
        if not _env_name(check, job, where, key, secret=True):
            ok = False
            continue
        if not SECRET_ARN.fullmatch(arn):
            check.fail(
                job,
                where,
                f"{shown(arn)} is not a complete Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, with the 6-character "
                "suffix AWS adds) or an SSM parameter ARN "
                "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)",
            )
            ok = False
            continue
        if env and key in env:
            check.fail(job, where, f"{shown(key)} is also in env; a variable comes from one place")
            ok = False
            continue
        secrets[key] = arn
    return secrets if ok else None
