"""The stack's settings (table in docs/deploy.md), read once and validated before any resource is declared.

A typo in ``Pulumi.<stack>.yaml`` should fail ``pulumi preview`` with a message naming the key and the
accepted values, not surface minutes later as an AWS API error (or, worse, as an API stage throttled
to 0 requests/s). ``parse_config`` is pure so tests and tools can validate a settings mapping without
a Pulumi engine; ``load_config`` is the thin adapter that reads ``pulumi.Config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from functions.contract.rules import DEFAULT_MAX_FUTURE_SKEW_HOURS
from infra import spec


class ConfigError(ValueError):
    """A config value is missing or invalid; the message names the full key and what is accepted."""


class ApiAuth(StrEnum):
    """Authorisation of ``POST /writer``: SigV4-signed callers only, or anyone who knows the URL."""

    AWS_IAM = "AWS_IAM"
    NONE = "NONE"


# Defaults as named constants: docs/deploy.md's config table quotes them.
DEFAULT_API_AUTH = ApiAuth.AWS_IAM
DEFAULT_API_THROTTLE_RATE = 100.0
"""Steady-state requests/s on the ``$default`` stage (API Gateway's account default is 10,000)."""
DEFAULT_API_THROTTLE_BURST = 200
DEFAULT_LOG_GROUP_RETENTION_DAYS = 30
"""CloudWatch Logs retention of the function and access log groups (``logRetentionDays``)."""
DEFAULT_ERROR_RETENTION_DAYS = spec.DEFAULT_ERROR_RETENTION_DAYS
"""LogTable TTL in days (``errorRetentionDays``, the error handler's ``LOG_RETENTION_DAYS``)."""
# DEFAULT_MAX_FUTURE_SKEW_HOURS (``maxFutureSkewHours``, the functions' ``MAX_FUTURE_SKEW_HOURS``) is the
# record contract's own default, imported above: the stack and the functions cannot disagree on it.
DEFAULT_NONCURRENT_VERSION_DAYS = 30
"""DataBucket: an overwritten or deleted upload's old version is kept this long
(``noncurrentVersionDays``)."""
DEFAULT_INCOMPLETE_UPLOAD_DAYS = 7
"""DataBucket: parts of a multipart upload never completed are removed after this long
(``incompleteUploadDays``)."""
DEFAULT_DELETION_PROTECTION = True
"""Safe by default: tables refuse deletion and destroy keeps a non-empty bucket, unless a stack opts out."""

LOG_RETENTION_CHOICES = (
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
"""The only values CloudWatch Logs accepts for ``retentionInDays``."""

DEPLOYMENT_PREFERENCES = (
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
    "AllAtOnce",
)
"""CodeDeploy's predefined Lambda deployment configurations, minus the ``CodeDeployDefault.Lambda`` prefix."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
_STACK = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
"""Stack names end up in function names (64 chars max) and alarm names: lower-case, short."""


@dataclass(frozen=True, kw_only=True)
class AssumeRole:
    """One role the stack's AWS provider assumes (``aws:assumeRoles``), in order."""

    role_arn: str
    session_name: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class AwsAccess:
    """How the stack reaches AWS: the AWS provider and the release step both use exactly this."""

    region: str
    profile: str | None = None
    assume_roles: tuple[AssumeRole, ...] = ()


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Every setting the program uses; nothing else reads ``pulumi.Config``."""

    stack: str
    region: str
    api_auth: ApiAuth = DEFAULT_API_AUTH
    api_throttle_rate: float = DEFAULT_API_THROTTLE_RATE
    api_throttle_burst: int = DEFAULT_API_THROTTLE_BURST
    log_retention_days: int = DEFAULT_LOG_GROUP_RETENTION_DAYS
    error_retention_days: int = DEFAULT_ERROR_RETENTION_DAYS
    max_future_skew_hours: int = DEFAULT_MAX_FUTURE_SKEW_HOURS
    noncurrent_version_days: int = DEFAULT_NONCURRENT_VERSION_DAYS
    incomplete_upload_days: int = DEFAULT_INCOMPLETE_UPLOAD_DAYS
    max_receive_count: int = spec.DEFAULT_MAX_RECEIVE_COUNT
    writer_batch_size: int = spec.DEFAULT_WRITER_BATCH_SIZE
    writer_max_concurrency: int = spec.DEFAULT_WRITER_MAX_CONCURRENCY
    deployment_preference: str = spec.DEFAULT_DEPLOYMENT_PREFERENCE
    alarm_email: str | None = None
    powertools_layer_arn: str | None = None
    deletion_protection: bool = DEFAULT_DELETION_PROTECTION
    profile: str | None = None
    """``aws:profile``: the named profile the AWS provider (and the release step) use."""
    assume_roles: tuple[AssumeRole, ...] = ()
    """``aws:assumeRoles``: the role chain the AWS provider (and the release step) assume."""

    @property
    def aws(self) -> AwsAccess:
        return AwsAccess(region=self.region, profile=self.profile, assume_roles=self.assume_roles)

    @property
    def deployment_config_name(self) -> str:
        """CodeDeploy deployment configuration, e.g. ``CodeDeployDefault.LambdaCanary10Percent5Minutes``."""
        return f"CodeDeployDefault.Lambda{self.deployment_preference}"


CONFIG_KEYS = (
    "apiAuth",
    "apiThrottleRate",
    "apiThrottleBurst",
    "logRetentionDays",
    "errorRetentionDays",
    "maxFutureSkewHours",
    "noncurrentVersionDays",
    "incompleteUploadDays",
    "maxReceiveCount",
    "writerBatchSize",
    "writerMaxConcurrency",
    "deploymentPreference",
    "alarmEmail",
    "powertoolsLayerArn",
    "deletionProtection",
)
"""Keys of the ``serverless-pipeline`` namespace; an unknown key is an error (a typo guard)."""


def _key(name: str) -> str:
    return f"{spec.PROJECT}:{name}"


def _int(values: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{_key(name)} must be an integer between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{_key(name)} must be between {low} and {high}, got {value}")
    return value


def _choice(values: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ConfigError(f"{_key(name)} must be one of {', '.join(choices)}; got {raw!r}")
    return raw


def _bool(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    lowered = str(raw).strip().lower()
    if lowered not in ("true", "false"):
        raise ConfigError(f"{_key(name)} must be true or false, got {raw!r}")
    return lowered == "true"


_ASSUME_ROLE_KEYS = {"roleArn": "role_arn", "sessionName": "session_name", "externalId": "external_id"}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def parse_assume_roles(raw: str | None) -> tuple[AssumeRole, ...]:
    """``aws:assumeRoles`` as Pulumi stores it (a JSON list of objects), limited to what the release step can
    repeat with STS: ``roleArn``, ``sessionName``, ``externalId``."""
    if raw is None or raw == "":
        return ()
    try:
        entries = json.loads(raw)
    except ValueError:
        raise ConfigError(f"aws:assumeRoles must be a list of objects, got {raw!r}") from None
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"aws:assumeRoles must be a list of objects, got {raw!r}")
    roles = []
    for entry in entries:
        unsupported = sorted(set(entry) - set(_ASSUME_ROLE_KEYS))
        if unsupported:
            raise ConfigError(
                f"aws:assumeRoles: {', '.join(unsupported)} not supported (the release step repeats the "
                f"provider's role chain with STS): use only {', '.join(_ASSUME_ROLE_KEYS)}"
            )
        arn = str(entry.get("roleArn") or "")
        if not _ROLE_ARN.match(arn):
            raise ConfigError(f"aws:assumeRoles: roleArn must be an IAM role ARN, got {arn!r}")
        roles.append(AssumeRole(**{_ASSUME_ROLE_KEYS[key]: str(value) for key, value in entry.items()}))
    return tuple(roles)


def parse_config(
    values: Mapping[str, str],
    *,
    stack: str,
    region: str | None,
    profile: str | None = None,
    assume_roles: str | None = None,
) -> StackConfig:
    """Validate a ``serverless-pipeline`` settings mapping (key → string, as Pulumi stores them)."""
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"unknown config key {_key(unknown[0])}; known keys: {', '.join(CONFIG_KEYS)}")
    if not _STACK.match(stack):
        raise ConfigError(
            f"stack name {stack!r} must be 1-20 characters of a-z, 0-9 and '-' "
            "(it is part of function and alarm names)"
        )
    if stack == spec.LOCAL_STACK:
        raise ConfigError(f"stack name {stack!r} is reserved for the local stack; pick another, e.g. dev")
    if not region:
        raise ConfigError("aws:region is not set: run `pulumi config set aws:region eu-west-1`")

    rate_raw = values.get("apiThrottleRate")
    rate = DEFAULT_API_THROTTLE_RATE
    if rate_raw not in (None, ""):
        try:
            rate = float(str(rate_raw))
        except ValueError:
            raise ConfigError(
                f"{_key('apiThrottleRate')} must be a positive number (requests/s), got {rate_raw!r}"
            ) from None
        # 0 would make API Gateway answer 429 to every request: refuse it here.
        if not 0 < rate <= 10_000:
            raise ConfigError(
                f"{_key('apiThrottleRate')} must be > 0 and <= 10000 requests/s, got {rate_raw}"
            )

    email = (values.get("alarmEmail") or "").strip() or None
    if email is not None and not _EMAIL.match(email):
        raise ConfigError(f"{_key('alarmEmail')} must be an email address, got {email!r}")
    layer = (values.get("powertoolsLayerArn") or "").strip() or None
    if layer is not None and not _LAYER_ARN.match(layer):
        raise ConfigError(
            f"{_key('powertoolsLayerArn')} must be a versioned layer ARN "
            f"(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION), got {layer!r}"
        )
    retention = _int(values, "logRetentionDays", DEFAULT_LOG_GROUP_RETENTION_DAYS, low=1, high=3653)
    if retention not in LOG_RETENTION_CHOICES:
        raise ConfigError(
            f"{_key('logRetentionDays')} must be one of CloudWatch's values "
            f"({', '.join(map(str, LOG_RETENTION_CHOICES))}), got {retention}"
        )
    return StackConfig(
        stack=stack,
        region=region,
        api_auth=ApiAuth(_choice(values, "apiAuth", DEFAULT_API_AUTH, tuple(ApiAuth))),
        api_throttle_rate=rate,
        # Burst 0 is the same trap as rate 0: every request throttled.
        api_throttle_burst=_int(values, "apiThrottleBurst", DEFAULT_API_THROTTLE_BURST, low=1, high=5_000),
        log_retention_days=retention,
        error_retention_days=_int(
            values, "errorRetentionDays", DEFAULT_ERROR_RETENTION_DAYS, low=1, high=3650
        ),
        max_future_skew_hours=_int(
            values, "maxFutureSkewHours", DEFAULT_MAX_FUTURE_SKEW_HOURS, low=0, high=24 * 366
        ),
        noncurrent_version_days=_int(
            values, "noncurrentVersionDays", DEFAULT_NONCURRENT_VERSION_DAYS, low=1, high=3650
        ),
        incomplete_upload_days=_int(
            values, "incompleteUploadDays", DEFAULT_INCOMPLETE_UPLOAD_DAYS, low=1, high=365
        ),
        max_receive_count=_int(values, "maxReceiveCount", spec.DEFAULT_MAX_RECEIVE_COUNT, low=1, high=1000),
        writer_batch_size=_int(values, "writerBatchSize", spec.DEFAULT_WRITER_BATCH_SIZE, low=1, high=10_000),
        # AWS's floor for an SQS mapping's maximum concurrency is 2.
        writer_max_concurrency=_int(
            values, "writerMaxConcurrency", spec.DEFAULT_WRITER_MAX_CONCURRENCY, low=2, high=1000
        ),
        deployment_preference=_choice(
            values, "deploymentPreference", spec.DEFAULT_DEPLOYMENT_PREFERENCE, DEPLOYMENT_PREFERENCES
        ),
        alarm_email=email,
        powertools_layer_arn=layer,
        deletion_protection=_bool(values, "deletionProtection", DEFAULT_DELETION_PROTECTION),
        profile=(profile or "").strip() or None,
        assume_roles=parse_assume_roles(assume_roles),
    )


def load_config() -> StackConfig:
    """Read the current stack's settings (the only place the program touches ``pulumi.Config``)."""
    import pulumi

    project = pulumi.Config(spec.PROJECT)
    values = {name: value for name in CONFIG_KEYS if (value := project.get(name)) is not None}
    aws = pulumi.Config("aws")
    return parse_config(
        values,
        stack=pulumi.get_stack(),
        region=aws.get("region"),
        profile=aws.get("profile"),
        assume_roles=aws.get("assumeRoles"),
    )
