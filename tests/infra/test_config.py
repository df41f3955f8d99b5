"""Config parsing: defaults from named constants, and a precise error for every kind of bad value."""

from __future__ import annotations

import pytest

from functions.contract import DEFAULT_MAX_FUTURE_SKEW_HOURS
from functions.model import DEFAULT_LOG_RETENTION_DAYS
from infra import config as cfg
from infra import spec
from infra.config import ApiAuth, ConfigError, parse_config
from tests.support.infra import PROJECT_DIR

EMAIL = {"alarmEmail": "ops@example.com"}
"""The default deployment preference is a canary, which needs somewhere for its alarms to go."""


def test_defaults_come_from_the_named_constants() -> None:
    parsed = parse_config(EMAIL, stack="dev", region="eu-west-1")

    assert parsed.api_auth is ApiAuth.AWS_IAM
    assert parsed.api_throttle_rate == cfg.DEFAULT_API_THROTTLE_RATE
    assert parsed.api_throttle_burst == cfg.DEFAULT_API_THROTTLE_BURST
    assert parsed.max_receive_count == spec.DEFAULT_MAX_RECEIVE_COUNT == 1
    assert parsed.writer_batch_size == spec.DEFAULT_WRITER_BATCH_SIZE
    assert parsed.writer_max_concurrency == spec.DEFAULT_WRITER_MAX_CONCURRENCY
    assert parsed.error_retention_days == DEFAULT_LOG_RETENTION_DAYS == 90
    assert parsed.deployment_config_name == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert parsed.alarm_topic_arn is None and parsed.powertools_layer_arn is None
    assert parsed.deletion_protection is True
    assert parsed.log_retention_days == cfg.DEFAULT_LOG_GROUP_RETENTION_DAYS == 30
    assert parsed.max_future_skew_hours == DEFAULT_MAX_FUTURE_SKEW_HOURS == 24
    assert (parsed.noncurrent_version_days, parsed.incomplete_upload_days) == (30, 7)
    assert parsed.aws == cfg.AwsAccess(region="eu-west-1")
    assert parsed.provider == cfg.ProviderSettings() and parsed.provider.provider_args() == {}


def test_log_group_retention_and_error_retention_are_two_settings() -> None:
    """CloudWatch retention of log groups (30 days) is not the LogTable TTL (90 days)."""
    assert cfg.DEFAULT_LOG_GROUP_RETENTION_DAYS != DEFAULT_LOG_RETENTION_DAYS
    parsed = parse_config(
        {**EMAIL, "logRetentionDays": "7", "errorRetentionDays": "14"}, stack="dev", region="eu-west-1"
    )
    assert (parsed.log_retention_days, parsed.error_retention_days) == (7, 14)


def test_aws_access_comes_from_the_aws_namespace() -> None:
    parsed = parse_config(
        EMAIL,
        stack="dev",
        region="eu-west-1",
        profile=" ops ",
        assume_roles='[{"roleArn": "arn:aws:iam::123456789012:role/deploy", "externalId": "e"}]',
    )
    assert parsed.aws == cfg.AwsAccess(
        region="eu-west-1",
        profile="ops",
        assume_roles=(spec.AssumeRole(role_arn="arn:aws:iam::123456789012:role/deploy", external_id="e"),),
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "aws:assumeRoles must be a list of objects"),
        ('[{"roleArn": "deploy"}]', "roleArn must be an IAM role ARN, got 'deploy'"),
        ('[{"roleArn": "arn:aws:iam::123456789012:role/d", "duration": "1h"}]', "duration not supported"),
    ],
)
def test_bad_assume_roles_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({}, stack="dev", region="eu-west-1", assume_roles=raw)


def test_values_are_parsed_from_pulumi_strings() -> None:
    parsed = parse_config(
        {
            "apiAuth": "NONE",
            "apiThrottleRate": "12.5",
            "apiThrottleBurst": "30",
            "maxReceiveCount": "3",
            "writerMaxConcurrency": "7",
            "deploymentPreference": "AllAtOnce",
            "alarmEmail": " ops@example.com ",
            "deletionProtection": "False",
        },
        stack="dev",
        region="eu-west-1",
    )

    assert parsed.api_auth is ApiAuth.NONE
    assert (parsed.api_throttle_rate, parsed.api_throttle_burst) == (12.5, 30)
    assert (parsed.max_receive_count, parsed.writer_max_concurrency) == (3, 7)
    assert parsed.deployment_config_name == "CodeDeployDefault.LambdaAllAtOnce"
    assert parsed.alarm_email == "ops@example.com"
    assert parsed.deletion_protection is False


def test_config_is_frozen() -> None:
    parsed = parse_config(EMAIL, stack="dev", region="eu-west-1")
    with pytest.raises(AttributeError):
        parsed.api_auth = ApiAuth.NONE  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"apiAuth": "IAM"},
            "serverless-pipeline:apiAuth must be one of AWS_IAM, NONE; got 'IAM'",
            id="auth",
        ),
        pytest.param({"apiThrottleRate": "0"}, "apiThrottleRate must be > 0", id="rate-zero"),
        pytest.param(
            {"apiThrottleRate": "fast"}, "apiThrottleRate must be a positive number", id="rate-text"
        ),
        pytest.param(
            {"apiThrottleBurst": "0"}, "apiThrottleBurst must be between 1 and 5000, got 0", id="burst-zero"
        ),
        pytest.param(
            {"maxReceiveCount": "x"}, "maxReceiveCount must be an integer between 1 and 1000", id="mrc"
        ),
        pytest.param(
            {"writerMaxConcurrency": "1"}, "writerMaxConcurrency must be between 2 and 1000", id="conc"
        ),
        pytest.param(
            {"logRetentionDays": "10"}, "logRetentionDays must be one of CloudWatch's values", id="ret"
        ),
        pytest.param({"deploymentPreference": "Canary"}, "deploymentPreference must be one of", id="pref"),
        pytest.param({"alarmEmail": "ops"}, "alarmEmail must be an email address, got 'ops'", id="email"),
        pytest.param(
            {"alarmTopicArn": "arn:aws:sns:eu-west-1:alarms"},
            "alarmTopicArn must be an SNS topic ARN",
            id="topic",
        ),
        pytest.param(
            {"alarmTopicArn": "arn:aws:sns:us-east-1:123456789012:alarms"},
            "alarmTopicArn must be a topic in eu-west-1",
            id="topic-region",
        ),
        pytest.param(
            {"powertoolsLayerArn": "arn:aws:lambda:x"}, "powertoolsLayerArn must be a versioned", id="arn"
        ),
        pytest.param({"deletionProtection": "yes"}, "deletionProtection must be true or false", id="bool"),
        pytest.param({"maxFutureSkewHours": "-1"}, "maxFutureSkewHours must be between 0", id="skew"),
        pytest.param(
            {"noncurrentVersionDays": "0"}, "noncurrentVersionDays must be between 1", id="versions"
        ),
        pytest.param({"incompleteUploadDays": "x"}, "incompleteUploadDays must be an integer", id="uploads"),
        pytest.param(
            {"apiThrotleRate": "5"}, "unknown config key serverless-pipeline:apiThrotleRate", id="typo"
        ),
    ],
)
def test_bad_values_name_the_key_and_what_is_accepted(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(values, stack="dev", region="eu-west-1")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("stack", "region", "message"),
    [
        pytest.param("dev", None, "aws:region is not set", id="no-region"),
        pytest.param("local", "eu-west-1", "reserved for the local stack", id="local"),
        pytest.param("Prod_1", "eu-west-1", "must be 1-20 characters", id="bad-stack"),
    ],
)
def test_stack_and_region_are_checked(stack: str, region: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({}, stack=stack, region=region)


def test_every_config_key_is_in_the_deploy_docs() -> None:
    docs = (PROJECT_DIR / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = [line for line in docs.splitlines() if line.startswith("| `")]
    documented = {line.split("`")[1] for line in table}
    aws_keys = {f"aws:{key}" for key in (*cfg.AWS_ACCESS_KEYS, *cfg.FORWARDED_AWS_KEYS)}
    assert set(cfg.CONFIG_KEYS) | aws_keys <= documented


# --- alarms must reach someone on a canary stack ----------------------------------------------------------


@pytest.mark.parametrize("preference", ["Canary10Percent5Minutes", "Linear10PercentEvery1Minute"])
def test_a_canary_stack_without_anywhere_for_alarms_is_refused(preference: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"deploymentPreference": preference}, stack="prod", region="eu-west-1")
    message = str(raised.value)
    assert message.startswith(f"serverless-pipeline:deploymentPreference {preference} needs somewhere")
    assert "serverless-pipeline:alarmEmail" in message and "serverless-pipeline:alarmTopicArn" in message


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"deploymentPreference": "AllAtOnce"}, id="no-canary"),
        pytest.param(EMAIL, id="email"),
        pytest.param({"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall"}, id="topic"),
    ],
)
def test_alarms_need_a_subscriber_only_with_a_canary(values: dict[str, str]) -> None:
    parsed = parse_config(values, stack="prod", region="eu-west-1")
    assert parsed.alarm_topic_arn == values.get("alarmTopicArn")


# --- aws: keys beyond region, profile and assumeRoles: forwarded or refused, never dropped ---------------


def test_forwarded_aws_keys_reach_the_provider_arguments() -> None:
    parsed = parse_config(
        EMAIL,
        stack="prod",
        region="eu-west-1",
        aws_settings={"allowedAccountIds": '["012345678901"]', "maxRetries": "5", "retryMode": "adaptive"},
        provider_keys=cfg.aws_provider_keys(),
    )
    assert parsed.provider.provider_args() == {
        "allowed_account_ids": ["012345678901"],
        "max_retries": 5,
        "retry_mode": "adaptive",
    }


def test_every_forwarded_key_is_a_provider_argument_of_the_installed_pulumi_aws() -> None:
    assert set(cfg.AWS_ACCESS_KEYS) | set(cfg.FORWARDED_AWS_KEYS) <= cfg.aws_provider_keys()
    assert {"allowedAccountIds", "accessKey", "endpoints", "defaultTags"} <= cfg.aws_provider_keys()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"accessKey": "AKIA..."},
            "aws:accessKey is not supported by this program's AWS provider",
            id="creds",
        ),
        pytest.param({"endpoints": "[]"}, "pulumi config rm aws:endpoints", id="endpoints"),
        pytest.param(
            {"allowedAcountIds": '["123456789012"]'},
            "aws:allowedAcountIds is not a setting of the AWS provider (a typo?)",
            id="typo",
        ),
        pytest.param(
            {"allowedAccountIds": '["123456789012"]', "forbiddenAccountIds": '["210987654321"]'},
            "exclude each other",
            id="both-guards",
        ),
        pytest.param({"allowedAccountIds": "123456789012"}, "must be a list of 12-digit", id="not-a-list"),
        pytest.param(
            {"allowedAccountIds": "[12345678901]"}, "'12345678901' is not a 12-digit", id="lost-zero"
        ),
        pytest.param({"maxRetries": "many"}, "aws:maxRetries must be an integer", id="retries"),
        pytest.param({"retryMode": "legacy"}, "aws:retryMode must be one of standard, adaptive", id="mode"),
    ],
)
def test_other_aws_keys_are_refused_with_a_message(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            EMAIL,
            stack="prod",
            region="eu-west-1",
            aws_settings=settings,
            provider_keys=cfg.aws_provider_keys(),
        )
    assert message in str(raised.value)
