"""The stack's settings (table in docs/deploy.md), read once and validated before any resource is declared.

A typo in ``Pulumi.<stack>.yaml`` should fail ``pulumi preview`` with a message naming the key and the
accepted values, not surface minutes later as an AWS API error (or, worse, as an API stage throttled
to 0 requests/s). ``parse_config`` is pure so tests and tools can validate a settings mapping without
a Pulumi engine; ``load_config`` is the thin adapter that reads ``pulumi.Config``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from functions.contract import DEFAULT_MAX_FUTURE_SKEW_HOURS
from functions.model import DEFAULT_LOG_RETENTION_DAYS
from infra import spec
from infra.spec import AssumeRole


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
# ``errorRetentionDays`` defaults to the error handler's own ``LOG_RETENTION_DAYS`` default
# (functions.model.DEFAULT_LOG_RETENTION_DAYS), and ``maxFutureSkewHours`` to the record contract's
# (functions.contract.DEFAULT_MAX_FUTURE_SKEW_HOURS): each is written once, beside the code that applies it.
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
class AwsAccess:
    """How the stack reaches AWS: the AWS provider and the release step both use exactly this."""

    region: str
    profile: str | None = None
    assume_roles: tuple[AssumeRole, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """``aws:`` keys besides region, profile and assumeRoles that the explicit provider is given.

    An explicit provider reads no stack config by itself: every ``aws:`` key is either forwarded from here or
    refused by ``parse_config``, never silently dropped (``aws:allowedAccountIds``, the wrong-account guard,
    would otherwise do nothing)."""

    allowed_account_ids: tuple[str, ...] = ()
    forbidden_account_ids: tuple[str, ...] = ()
    max_retries: int | None = None
    retry_mode: str | None = None

    def provider_args(self) -> dict[str, Any]:
        """Keyword arguments for ``aws.Provider`` (only the keys that are set)."""
        args: dict[str, Any] = {
            "allowed_account_ids": list(self.allowed_account_ids) or None,
            "forbidden_account_ids": list(self.forbidden_account_ids) or None,
            "max_retries": self.max_retries,
            "retry_mode": self.retry_mode,
        }
        return {key: value for key, value in args.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Every setting the program uses; nothing else reads ``pulumi.Config``."""

    stack: str
    region: str
    api_auth: ApiAuth = DEFAULT_API_AUTH
    api_throttle_rate: float = DEFAULT_API_THROTTLE_RATE
    api_throttle_burst: int = DEFAULT_API_THROTTLE_BURST
    log_retention_days: int = DEFAULT_LOG_GROUP_RETENTION_DAYS
    error_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    max_future_skew_hours: int = int(DEFAULT_MAX_FUTURE_SKEW_HOURS)  # a whole number of hours here
    noncurrent_version_days: int = DEFAULT_NONCURRENT_VERSION_DAYS
    incomplete_upload_days: int = DEFAULT_INCOMPLETE_UPLOAD_DAYS
    max_receive_count: int = spec.DEFAULT_MAX_RECEIVE_COUNT
    writer_batch_size: int = spec.DEFAULT_WRITER_BATCH_SIZE
    writer_max_concurrency: int = spec.DEFAULT_WRITER_MAX_CONCURRENCY
    deployment_preference: str = spec.DEFAULT_DEPLOYMENT_PREFERENCE
    alarm_email: str | None = None
    alarm_topic_arn: str | None = None
    """An existing SNS topic the alarms notify instead of one the stack creates (``alarmTopicArn``)."""
    powertools_layer_arn: str | None = None
    deletion_protection: bool = DEFAULT_DELETION_PROTECTION
    profile: str | None = None
    """``aws:profile``: the named profile the AWS provider (and the release step) use."""
    assume_roles: tuple[AssumeRole, ...] = ()
    """``aws:assumeRoles``: the role chain the AWS provider (and the release step) assume."""
    provider: ProviderSettings = field(default_factory=lambda: ProviderSettings())
    """The other ``aws:`` keys the explicit provider is given (``FORWARDED_AWS_KEYS``)."""

    @property
    def has_canary(self) -> bool:
        """A release that shifts traffic gradually, judged by alarms (anything but ``AllAtOnce``)."""
        return self.deployment_preference != "AllAtOnce"

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
    "alarmTopicArn",
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


AWS_ACCESS_KEYS = ("region", "profile", "assumeRoles")
"""``aws:`` keys that decide how the stack reaches AWS: the provider and the release step both use them."""
FORWARDED_AWS_KEYS = ("allowedAccountIds", "forbiddenAccountIds", "maxRetries", "retryMode")
"""Other ``aws:`` keys given to the explicit provider (``ProviderSettings``); every other one is refused."""
RETRY_MODES = ("standard", "adaptive")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}$")


def _account_ids(name: str, raw: str) -> tuple[str, ...]:
    try:
        entries = json.loads(raw)
    except ValueError:
        entries = None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"aws:{name} must be a list of 12-digit account ids, got {raw!r}")
    ids = tuple(str(entry) for entry in entries)
    bad = [account for account in ids if not _ACCOUNT_ID.match(account)]
    if bad:
        raise ConfigError(
            f"aws:{name}: {', '.join(map(repr, bad))} is not a 12-digit account id "
            "(quote ids in YAML, or a leading 0 is lost)"
        )
    return ids


def parse_provider_settings(
    settings: Mapping[str, str], *, provider_keys: Collection[str] | None = None
) -> ProviderSettings:
    """The ``aws:`` keys other than ``AWS_ACCESS_KEYS`` (bare names → Pulumi's strings): forwarded to the
    provider when listed in ``FORWARDED_AWS_KEYS``, refused otherwise. ``provider_keys`` (every key the AWS
    provider defines) turns a typo into its own message."""
    for name in sorted(settings):
        if name in FORWARDED_AWS_KEYS or name in AWS_ACCESS_KEYS:
            continue
        if provider_keys is not None and name not in provider_keys:
            raise ConfigError(
                f"aws:{name} is not a setting of the AWS provider (a typo?); this program reads aws:"
                f"{', aws:'.join((*AWS_ACCESS_KEYS, *FORWARDED_AWS_KEYS))}"
            )
        raise ConfigError(
            f"aws:{name} is not supported by this program's AWS provider, which reads only aws:"
            f"{', aws:'.join((*AWS_ACCESS_KEYS, *FORWARDED_AWS_KEYS))} (the release step must reach AWS "
            f"exactly as the provider does): remove it with `pulumi config rm aws:{name}`"
        )
    allowed = settings.get("allowedAccountIds")
    forbidden = settings.get("forbiddenAccountIds")
    if allowed and forbidden:
        raise ConfigError("aws:allowedAccountIds and aws:forbiddenAccountIds exclude each other: set one")
    retries_raw = settings.get("maxRetries")
    retries = None
    if retries_raw not in (None, ""):
        try:
            retries = int(str(retries_raw))
        except ValueError:
            retries = -1
        if not 0 <= retries <= 100:
            raise ConfigError(f"aws:maxRetries must be an integer between 0 and 100, got {retries_raw!r}")
    mode = settings.get("retryMode") or None
    if mode is not None and mode not in RETRY_MODES:
        raise ConfigError(f"aws:retryMode must be one of {', '.join(RETRY_MODES)}; got {mode!r}")
    return ProviderSettings(
        allowed_account_ids=_account_ids("allowedAccountIds", allowed) if allowed else (),
        forbidden_account_ids=_account_ids("forbiddenAccountIds", forbidden) if forbidden else (),
        max_retries=retries,
        retry_mode=mode,
    )


def parse_config(
    values: Mapping[str, str],
    *,
    stack: str,
    region: str | None,
    profile: str | None = None,
    assume_roles: str | None = None,
    aws_settings: Mapping[str, str] | None = None,
    provider_keys: Collection[str] | None = None,
) -> StackConfig:
    """Validate a ``serverless-pipeline`` settings mapping (key → string, as Pulumi stores them).

    ``aws_settings`` holds the other ``aws:`` keys set on the stack (bare names), see
    ``parse_provider_settings``."""
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
    topic = (values.get("alarmTopicArn") or "").strip() or None
    if topic is not None:
        match = _TOPIC_ARN.match(topic)
        if not match:
            raise ConfigError(
                f"{_key('alarmTopicArn')} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), "
                f"got {topic!r}"
            )
        if match.group(1) != region:
            raise ConfigError(
                f"{_key('alarmTopicArn')} must be a topic in {region} (CloudWatch alarms notify topics of "
                f"their own region), got {topic!r}"
            )
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
    parsed = StackConfig(
        stack=stack,
        region=region,
        api_auth=ApiAuth(_choice(values, "apiAuth", DEFAULT_API_AUTH, tuple(ApiAuth))),
        api_throttle_rate=rate,
        # Burst 0 is the same trap as rate 0: every request throttled.
        api_throttle_burst=_int(values, "apiThrottleBurst", DEFAULT_API_THROTTLE_BURST, low=1, high=5_000),
        log_retention_days=retention,
        error_retention_days=_int(values, "errorRetentionDays", DEFAULT_LOG_RETENTION_DAYS, low=1, high=3650),
        max_future_skew_hours=_int(
            values, "maxFutureSkewHours", int(DEFAULT_MAX_FUTURE_SKEW_HOURS), low=0, high=24 * 366
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
        alarm_topic_arn=topic,
        powertools_layer_arn=layer,
        deletion_protection=_bool(values, "deletionProtection", DEFAULT_DELETION_PROTECTION),
        profile=(profile or "").strip() or None,
        assume_roles=parse_assume_roles(assume_roles),
        provider=parse_provider_settings(aws_settings or {}, provider_keys=provider_keys),
    )
    if parsed.has_canary and not (parsed.alarm_email or parsed.alarm_topic_arn):
        # The canary's alarms roll a bad release back; without a subscriber nobody learns that it happened,
        # nor about any alarm afterwards.
        raise ConfigError(
            f"{_key('deploymentPreference')} {parsed.deployment_preference} needs somewhere for alarms to "
            f"go: set {_key('alarmEmail')} (`pulumi config set {_key('alarmEmail')} oncall@example.com`) "
            f"or {_key('alarmTopicArn')} (an existing SNS topic)"
        )
    return parsed


def load_config() -> StackConfig:
    """Read the current stack's settings (the only place the program touches ``pulumi.Config``)."""
    import pulumi

    project = pulumi.Config(spec.PROJECT)
    values = {name: value for name in CONFIG_KEYS if (value := project.get(name)) is not None}
    aws = pulumi.Config("aws")
    provider_keys = aws_provider_keys()
    # Every key the provider defines, plus any other `aws:` key in the config Pulumi hands the program (a
    # typo such as aws:allowedAcountIds must not pass for "not set").
    names = set(provider_keys) | {
        key.split(":", 1)[1] for key in pulumi.runtime.get_config_env() if key.startswith("aws:")
    }
    settings = {name: value for name in sorted(names) if (value := aws.get(name)) is not None}
    return parse_config(
        values,
        stack=pulumi.get_stack(),
        region=settings.pop("region", None),
        profile=settings.pop("profile", None),
        assume_roles=settings.pop("assumeRoles", None),
        aws_settings=settings,
        provider_keys=provider_keys,
    )


def aws_provider_keys() -> frozenset[str]:
    """Every ``aws:`` config key the installed AWS provider defines (its ``ProviderArgs``, in camelCase)."""
    import inspect

    import pulumi_aws

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)

    parameters = inspect.signature(pulumi_aws.ProviderArgs.__init__).parameters
    return frozenset(camel(name) for name in parameters if not name.startswith("_"))
