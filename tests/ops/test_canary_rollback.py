"""A release is judged by the new version's own alarms: one that rejects every record is rolled back.

What is real: the Pulumi program applied to moto by the local stack (its alarms, created as declared; its
Writer at version 1 behind ``live``), the release step's code (``ops.release_step.release``: it points the
per-version alarms at the new version, then starts the deployment and waits), the Writer handler running
every invocation with the version the alias resolves to (``local_stack.aliases``) and that version's
configuration, and its EMF metrics.

What is emulated, and where:
- CodeDeploy: ``tests.support.codedeploy_server.CanaryAws`` shifts 10 % of ``live``'s invocations to the new
  version, looks at the deployment group's alarms on each ``GetDeployment`` and rolls the alias back when
  one is in ALARM. The group's alarm list is the one the program declared (moto's CodeDeploy drops it).
- CloudWatch Logs and alarm evaluation: ``tests.support.cloudwatch`` puts the functions' EMF lines into
  moto's CloudWatch and evaluates each alarm's own definition on that data (moto evaluates no alarm). Time
  is compressed: one "minute" of the canary is 20 invocations, sent one at a time, then one evaluation.
- Lambda's own ``Errors`` metric is not emitted locally, so the alarms on it see no data (OK).

The bad release is a real one: version 2 is published with ``MAX_FUTURE_SKEW_HOURS=0`` (a configuration
mistake a version carries with it), and clients' records carry ``updated_at`` a few minutes ahead of the
pipeline's clock, as real clocks do: version 1 writes them, version 2 rejects every one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.model import VERSION_DIMENSION
from infra import spec
from local_stack.stack import LocalStack
from ops import release, release_step
from tests.support.cloudwatch import EmfExtractor, evaluate_alarm
from tests.support.codedeploy_server import CanaryAws, fake_aws
from tests.support.functions import record

pytestmark = pytest.mark.e2e

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
INVOCATIONS_PER_MINUTE = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(tmp_path_factory.mktemp("canary"), fresh=True, write_outputs=False) as running:
        yield running


@pytest.fixture
def codedeploy(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CanaryAws]:
    """The CodeDeploy stand-in, watching the alarms the program's deployment group declares."""
    assert stack.deployment is not None
    [group] = stack.deployment.of_type(GROUP)
    canary = CanaryAws(
        lambda_client=stack.client("lambda"),
        cloudwatch=stack.client("cloudwatch"),
        group_alarms=list(group.inputs["alarmConfiguration"]["alarms"]),
    )
    with fake_aws(canary) as served:
        # The release code reaches CodeDeploy here and everything else (Lambda, CloudWatch) in moto.
        monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_CODEDEPLOY", served.endpoint_url)
        yield served  # type: ignore[misc]


class Canary:
    """Traffic and CloudWatch for the duration of a release: what happens between two polls of CodeDeploy."""

    def __init__(self, stack: LocalStack, alarms: list[str], output: pytest.CaptureFixture[str]) -> None:
        self.stack = stack
        self.alarms = alarms
        self.output = output
        """The handlers' stdout: under pytest's capture, where their EMF lines land."""
        self.cloudwatch = stack.client("cloudwatch")
        self.extractor = EmfExtractor(self.cloudwatch)
        output.readouterr()
        self.verdicts: list[dict[str, str]] = []

    def minute(self, _seconds: float) -> None:
        """Used as the release's ``sleep``: a minute of client traffic, then CloudWatch's evaluation."""
        sqs = self.stack.client("sqs")
        ahead = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        for _ in range(INVOCATIONS_PER_MINUTE):
            body = json.dumps(record(f"canary-{uuid.uuid4().hex[:10]}", updated_at=ahead))
            sqs.send_message(QueueUrl=self.stack.outputs["writer_queue_url"], MessageBody=body)
            self.stack.wait_until_idle(timeout=30)
        assert self.extractor.extract(self.output.readouterr().out) > 0
        self.verdicts.append({name: evaluate_alarm(self.cloudwatch, name) for name in self.alarms})


def publish(stack: LocalStack, *, without: tuple[str, ...] = (), **variables: str) -> str:
    """A new Writer version: the configuration ``live`` serves with ``variables`` changed and ``without``
    removed (each test's release starts from the good version, whatever an earlier test published)."""
    lam = stack.client("lambda")
    name = stack.outputs["writer_function"]
    served = lam.get_function_configuration(FunctionName=name, Qualifier=spec.WRITER_ALIAS)
    current = dict(served["Environment"]["Variables"])
    kept = {key: value for key, value in {**current, **variables}.items() if key not in without}
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": kept})
    return str(lam.publish_version(FunctionName=name)["Version"])


def run_release(stack: LocalStack, canary: Canary, version: str) -> release.ReleaseResult:
    """The release step's own work (``ops.release_step.release``), with the canary's minutes as its sleep."""
    names = spec.codedeploy_names(stack.program_stack)
    step = spec.ReleaseStep(
        region=stack.outputs["region"],
        application=names["application"],
        deployment_group=names["deployment_group"],
        function_name=stack.outputs["writer_function"],
        alias=spec.WRITER_ALIAS,
        target_version=version,
        timeout_seconds=600,
        poll_seconds=60,
    )
    session = boto3.Session(
        region_name=stack.outputs["region"], aws_access_key_id="local", aws_secret_access_key="local"
    )
    return release_step.release(
        step, session=session, waiting=release.Waiting(timeout=600, poll=60, sleep=canary.minute)
    )


def alias(stack: LocalStack) -> dict[str, Any]:
    return stack.client("lambda").get_alias(
        FunctionName=stack.outputs["writer_function"], Name=spec.WRITER_ALIAS
    )


def alarm_name(stack: LocalStack, suffix: str) -> str:
    return spec.alarm_prefix(stack.program_stack) + suffix


def test_a_version_that_rejects_every_record_is_rolled_back(
    stack: LocalStack, codedeploy: CanaryAws, capsys: pytest.CaptureFixture[str]
) -> None:
    before = alias(stack)["FunctionVersion"]
    bad = publish(stack, MAX_FUTURE_SKEW_HOURS="0")
    canary = Canary(stack, codedeploy.group_alarms, capsys)

    with pytest.raises(release.ReleaseFailed) as failed:
        run_release(stack, canary, bad)

    per_version = alarm_name(stack, "writer-version-invalid-records")
    whole = alarm_name(stack, "writer-invalid-records")
    message = str(failed.value)
    assert "ended Failed; ALARM_ACTIVE" in message and per_version in message
    assert f"(version {bad} is not served)" in message
    # The alias is back on the old version, with no traffic routed to the bad one.
    served = alias(stack)
    assert served["FunctionVersion"] == before
    assert not (served.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    # The per-version alarm fired; the one on the whole Writer, averaging both versions, could not.
    [verdict] = canary.verdicts
    assert verdict[per_version] == "ALARM"
    assert verdict[whole] == "OK"
    # What the group watched was pointed at the new version before the deployment began.
    [judged] = stack.client("cloudwatch").describe_alarms(AlarmNames=[per_version])["MetricAlarms"]
    versions = {
        d["Value"]
        for q in judged["Metrics"]
        if "MetricStat" in q
        for d in q["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == VERSION_DIMENSION
    }
    assert versions == {bad}


def test_a_version_that_fails_every_message_is_rolled_back(
    stack: LocalStack, codedeploy: CanaryAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """Published without ``DLQ_URL``: every message fails before any record is counted, and the invocation
    still succeeds (``batchItemFailures``), so neither the record counts nor Lambda ``Errors`` move."""
    before = alias(stack)["FunctionVersion"]
    broken = publish(stack, without=("DLQ_URL",))
    canary = Canary(stack, codedeploy.group_alarms, capsys)

    with pytest.raises(release.ReleaseFailed, match="ended Failed; ALARM_ACTIVE") as failed:
        run_release(stack, canary, broken)

    failed_messages = alarm_name(stack, "writer-version-failed-messages")
    assert failed_messages in str(failed.value)
    assert alias(stack)["FunctionVersion"] == before
    [verdict] = canary.verdicts
    assert verdict[failed_messages] == "ALARM"
    assert verdict[alarm_name(stack, "writer-failed-records")] == "OK"  # no record was ever counted failed
    assert verdict[alarm_name(stack, "writer-version-invalid-records")] == "OK"


def test_a_good_version_goes_live(
    stack: LocalStack, codedeploy: CanaryAws, capsys: pytest.CaptureFixture[str]
) -> None:
    good = publish(stack, MAX_FUTURE_SKEW_HOURS="48")
    canary = Canary(stack, codedeploy.group_alarms, capsys)

    result = run_release(stack, canary, good)

    assert result.status == "Succeeded" and result.target_version == good
    assert alarm_name(stack, "writer-version-invalid-records") in result.judged_by
    assert alarm_name(stack, "writer-version-errors") in result.judged_by
    assert alias(stack)["FunctionVersion"] == good
    assert len(canary.verdicts) == codedeploy.canary_polls
    assert all(state == "OK" for verdict in canary.verdicts for state in verdict.values())
    # The new version did get traffic during the canary, and its own counts say it wrote records.
    written = stack.client("cloudwatch").get_metric_statistics(
        Namespace="ServerlessPipeline",
        MetricName="RecordsWritten",
        Dimensions=[{"Name": "service", "Value": "writer"}, {"Name": VERSION_DIMENSION, "Value": good}],
        StartTime=datetime.now(UTC) - timedelta(minutes=10),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=600,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(point["Sum"] for point in written) > 0
