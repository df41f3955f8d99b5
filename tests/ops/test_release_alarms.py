"""Pointing the deployment group's per-version alarms at the version being released (``ops.release_alarms``).

CloudWatch is moto's (``mock_aws``); the deployment group is ``tests.support.codedeploy_server``'s, because
moto 5.2 does not keep a deployment group's alarm configuration (GetDeploymentGroup answers without it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.model import METRICS_NAMESPACE, Outcome, outcome_metric
from ops.release_alarms import ReleaseAlarmError, point_version_alarms, stale_alarm
from tests.support.codedeploy_server import FakeAws, fake_aws

REGION = "us-east-1"
FUNCTION = "serverless-pipeline-prod-writer"
GROUP = {"application": "app", "deployment_group": "group"}
INVALID = "prod-writer-version-invalid-records"
ERRORS = "prod-writer-version-errors"
WHOLE = "prod-writer-errors"


def outcome_query(outcome: Outcome, version: str) -> dict[str, Any]:
    return {
        "Id": outcome.value,
        "ReturnData": False,
        "MetricStat": {
            "Metric": {
                "Namespace": METRICS_NAMESPACE,
                "MetricName": outcome_metric(outcome),
                "Dimensions": [{"Name": "service", "Value": "writer"}, {"Name": "version", "Value": version}],
            },
            "Period": 60,
            "Stat": "Sum",
        },
    }


def create_alarms(cloudwatch: Any, version: str) -> None:
    """The shapes the Pulumi program declares: metric math on the Writer's counts, Lambda Errors by version,
    and an alarm on the whole function (which must stay as it is)."""
    common = {
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:alarms"],
    }
    cloudwatch.put_metric_alarm(
        AlarmName=INVALID,
        AlarmDescription="share of invalid records of one version",
        Metrics=[
            *(outcome_query(outcome, version) for outcome in Outcome),
            {"Id": "invalid_share", "Expression": "100 * FILL(invalid, 0) / 1", "ReturnData": True},
        ],
        Threshold=50,
        **common,
    )
    cloudwatch.put_metric_alarm(
        AlarmName=ERRORS,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[
            {"Name": "FunctionName", "Value": FUNCTION},
            {"Name": "Resource", "Value": f"{FUNCTION}:live"},
            {"Name": "ExecutedVersion", "Value": version},
        ],
        Statistic="Sum",
        Period=60,
        Threshold=0,
        Tags=[{"Key": "project", "Value": "serverless-pipeline"}],
        **common,
    )
    cloudwatch.put_metric_alarm(
        AlarmName=WHOLE,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[
            {"Name": "FunctionName", "Value": FUNCTION},
            {"Name": "Resource", "Value": f"{FUNCTION}:live"},
        ],
        Statistic="Sum",
        Period=60,
        Threshold=0,
        **common,
    )


@functools.cache
def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


@pytest.fixture
def aws() -> Iterator[tuple[FakeAws, Any]]:
    """The group watches the two per-version alarms and one on the whole function; all watch version 7."""
    with fake_aws() as fake, mock_aws():
        fake.group_alarms = [WHOLE, INVALID, ERRORS]
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        create_alarms(cloudwatch, "7")
        yield fake, cloudwatch


def point(fake: FakeAws, cloudwatch: Any, version: str) -> Any:
    codedeploy = session().client("codedeploy", endpoint_url=fake.endpoint_url)
    return point_version_alarms(codedeploy=codedeploy, cloudwatch=cloudwatch, **GROUP, version=version)


def described(cloudwatch: Any) -> dict[str, dict[str, Any]]:
    alarms = cloudwatch.describe_alarms(AlarmNames=[INVALID, ERRORS, WHOLE])["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in alarms}


def dimension_values(alarm: dict[str, Any], name: str) -> set[str]:
    dimensions = list(alarm.get("Dimensions") or [])
    for query in alarm.get("Metrics") or []:
        dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
    return {d["Value"] for d in dimensions if d["Name"] == name}


def without_versions(alarm: dict[str, Any]) -> dict[str, Any]:
    """The alarm's definition with version dimensions and bookkeeping timestamps left out."""
    text = repr(
        {
            k: v
            for k, v in alarm.items()
            if k not in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp")
        }
    )
    return {
        "definition": text.replace("'Value': '8'", "'Value': 'V'").replace("'Value': '7'", "'Value': 'V'")
    }


def test_every_per_version_alarm_watches_the_released_version(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws

    judged = point(fake, cloudwatch, "8")

    assert set(judged.alarms) == set(judged.repointed) == {INVALID, ERRORS}
    alarms = described(cloudwatch)
    assert dimension_values(alarms[INVALID], "version") == {"8"}
    assert dimension_values(alarms[ERRORS], "ExecutedVersion") == {"8"}
    assert dimension_values(alarms[ERRORS], "Resource") == {f"{FUNCTION}:live"}


def test_nothing_but_the_version_changes(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws
    before = described(cloudwatch)

    point(fake, cloudwatch, "8")

    after = described(cloudwatch)
    for name in (INVALID, ERRORS, WHOLE):
        assert without_versions(after[name]) == without_versions(before[name]), name
    arn = after[ERRORS]["AlarmArn"]
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "project", "Value": "serverless-pipeline"}
    ]


def test_an_alarm_on_the_whole_function_is_not_rewritten(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws
    before = described(cloudwatch)[WHOLE]["AlarmConfigurationUpdatedTimestamp"]

    point(fake, cloudwatch, "8")

    assert described(cloudwatch)[WHOLE]["AlarmConfigurationUpdatedTimestamp"] == before


def test_alarms_already_on_the_version_are_left_alone(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws

    judged = point(fake, cloudwatch, "7")

    assert set(judged.alarms) == {INVALID, ERRORS} and judged.repointed == ()


def test_a_running_deployment_keeps_its_alarms(aws: tuple[FakeAws, Any]) -> None:
    """Its canary is judged by them: pointing them elsewhere would blind it (and CodeDeploy refuses the
    new deployment anyway)."""
    fake, cloudwatch = aws
    fake.add_function(FUNCTION, versions=3, live="1")
    fake.start_running(function_name=FUNCTION, current="6", target="7")

    judged = point(fake, cloudwatch, "8")

    assert judged.alarms == () and judged.skipped
    assert dimension_values(described(cloudwatch)[INVALID], "version") == {"7"}


def test_a_group_watching_no_alarm_judges_nothing(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws
    fake.group_alarms = []

    assert point(fake, cloudwatch, "8").alarms == ()


def test_a_failed_call_is_one_line_naming_it(aws: tuple[FakeAws, Any]) -> None:
    fake, _ = aws
    codedeploy = session().client("codedeploy", endpoint_url=fake.endpoint_url)
    cloudwatch = session().client(
        "cloudwatch", endpoint_url=fake.endpoint_url
    )  # CodeDeploy's, not CloudWatch

    with pytest.raises(ReleaseAlarmError, match=r"^reading the deployment group's alarms failed: "):
        point_version_alarms(codedeploy=codedeploy, cloudwatch=cloudwatch, **GROUP, version="8")


def test_an_alarm_left_in_alarm_by_the_old_version_starts_ok_on_the_new_one(aws: tuple[FakeAws, Any]) -> None:
    """CodeDeploy reads the state: a stale ALARM (a rolled-back release) would stop the next one at once."""
    fake, cloudwatch = aws
    cloudwatch.set_alarm_state(AlarmName=INVALID, StateValue="ALARM", StateReason="version 7 was bad")

    point(fake, cloudwatch, "8")

    alarm = described(cloudwatch)[INVALID]
    assert alarm["StateValue"] == "OK" and "version 8" in alarm["StateReason"]


def test_retrying_the_version_that_fired_keeps_its_alarm(aws: tuple[FakeAws, Any]) -> None:
    fake, cloudwatch = aws
    cloudwatch.set_alarm_state(AlarmName=INVALID, StateValue="ALARM", StateReason="version 7 was bad")

    point(fake, cloudwatch, "7")

    assert described(cloudwatch)[INVALID]["StateValue"] == "ALARM"


def test_an_alarm_the_program_already_repointed_is_stale_while_its_state_is_older() -> None:
    """``pulumi up`` points the alarms at the version it publishes just before the step runs: an ALARM state
    computed before that configuration change is about the old version."""
    configured = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    alarm = {"StateValue": "ALARM", "AlarmConfigurationUpdatedTimestamp": configured}

    assert stale_alarm({**alarm, "StateUpdatedTimestamp": configured - timedelta(minutes=3)}, repointed=False)
    assert not stale_alarm(
        {**alarm, "StateUpdatedTimestamp": configured + timedelta(minutes=1)}, repointed=False
    )
    assert not stale_alarm({**alarm, "StateValue": "OK"}, repointed=True)
