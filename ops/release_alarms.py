"""Before a release starts: point the deployment group's per-version alarms at the version being released.

CodeDeploy rolls a canary back when one of the alarms its deployment group names goes to ALARM. An alarm on
the whole Writer averages the old version with the new one: with 10 % of the traffic on a version that
rejects every record, the invalid share moves by about 10 points and nothing fires. So the group also watches
alarms pinned to *one* version (a metric dimension named in ``infra.spec.VERSION_DIMENSIONS``: the Writer's
own ``version``, Lambda's ``ExecutedVersion``). The Pulumi program points them at the version it publishes;
this module points them at the version a release is about to ship, whoever starts it, so that during the
canary CodeDeploy judges the new version on its own traffic.

An alarm is rewritten with ``PutMetricAlarm``, which replaces an alarm's whole configuration: the request is
the alarm as ``DescribeAlarms`` returns it (every field ``PutMetricAlarm`` takes, read from botocore's model
of the two operations), with the version dimensions changed and nothing else. Its tags are kept (CloudWatch
ignores ``Tags`` when it updates an alarm). Its state would be kept too, until its next evaluation: one left
in ALARM by the version it watched before is set to OK (see ``STATE_REASON``).

Nothing is rewritten while another deployment of the group runs: that deployment's canary is judged by these
alarms, and CodeDeploy will refuse the new one anyway.

Example::

    judged = point_version_alarms(codedeploy=session.client("codedeploy"), cloudwatch=session.client(
        "cloudwatch"), application="serverless-pipeline-prod-writer",
        deployment_group="serverless-pipeline-prod-writer-live", version="8")
    judged.alarms  # ("serverless-pipeline-prod-writer-version-errors", ...)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.spec import VERSION_DIMENSIONS
from ops import release

ACTIVE_STATUSES = ("Created", "Queued", "InProgress", "Baking", "Ready")
DESCRIBE_ALARMS_MAX_NAMES = 100
"""DescribeAlarms takes at most 100 alarm names per call."""
STATE_REASON = "pointed by the release step at Writer version"
"""An alarm that fired on the version it watched (a release rolled back) keeps that state when it is pointed
at another version (``PutMetricAlarm`` leaves an updated alarm's state unchanged), until CloudWatch next
evaluates it; CodeDeploy would read that stale ALARM and stop the next release at once. The step sets it to
OK (``SetAlarmState``), which the next evaluation replaces (:func:`stale_alarm`)."""
NOT_COPIED = frozenset({"Tags"})
"""PutMetricAlarm ignores tags when it updates an alarm; DescribeAlarms does not return them anyway."""


class ReleaseAlarmError(RuntimeError):
    """The group or its alarms could not be read or rewritten; the message says which call failed and why."""


@dataclass(frozen=True, kw_only=True)
class JudgedBy:
    """The alarms of the group pinned to one version, all pointing at ``version`` now."""

    version: str
    alarms: tuple[str, ...] = ()
    """Every per-version alarm the deployment group watches."""
    repointed: tuple[str, ...] = ()
    """Those that watched another version until this call."""
    skipped: str = ""
    """Why nothing was pointed (another deployment runs), or empty."""


def _call(what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return release.aws_call(what, operation, **kwargs)
    except release.ReleaseError as error:
        raise ReleaseAlarmError(str(error)) from error


def watched_alarms(codedeploy: Any, *, application: str, deployment_group: str) -> list[str]:
    """The alarm names the deployment group rolls back on (none when its alarm configuration is off)."""
    info = _call(
        f"reading deployment group {application}/{deployment_group}",
        codedeploy.get_deployment_group,
        applicationName=application,
        deploymentGroupName=deployment_group,
    )["deploymentGroupInfo"]
    configuration = info.get("alarmConfiguration") or {}
    if not configuration.get("enabled"):
        return []
    return [alarm["name"] for alarm in configuration.get("alarms") or [] if alarm.get("name")]


def _pinned(dimensions: Sequence[Mapping[str, str]], version: str) -> list[dict[str, str]]:
    return [
        {**dimension, "Value": version} if dimension["Name"] in VERSION_DIMENSIONS else dict(dimension)
        for dimension in dimensions
    ]


def is_per_version(alarm: Mapping[str, Any]) -> bool:
    """True when the alarm's metric (or one metric of its math) has a version dimension."""
    dimension_lists = [alarm.get("Dimensions") or []] + [
        query.get("MetricStat", {}).get("Metric", {}).get("Dimensions") or []
        for query in alarm.get("Metrics") or []
    ]
    return any(d["Name"] in VERSION_DIMENSIONS for dimensions in dimension_lists for d in dimensions)


def pointed_at(alarm: Mapping[str, Any], version: str) -> dict[str, Any]:
    """``alarm`` (as DescribeAlarms gives it) with every version dimension set to ``version``."""
    pointed = dict(alarm)
    if alarm.get("Dimensions"):
        pointed["Dimensions"] = _pinned(alarm["Dimensions"], version)
    if alarm.get("Metrics"):
        queries = []
        for query in alarm["Metrics"]:
            stat = query.get("MetricStat")
            if stat:
                metric = {
                    **stat["Metric"],
                    "Dimensions": _pinned(stat["Metric"].get("Dimensions") or [], version),
                }
                query = {**query, "MetricStat": {**stat, "Metric": metric}}
            queries.append(query)
        pointed["Metrics"] = queries
    return pointed


def stale_alarm(alarm: Mapping[str, Any], *, repointed: bool) -> bool:
    """In ALARM for a version the alarm no longer watches: just repointed here, or its state dates from before
    its configuration last changed (the Pulumi program pointed it at the new version moments ago)."""
    if alarm.get("StateValue") != "ALARM":
        return False
    if repointed:
        return True
    state_at, configured_at = (
        alarm.get("StateUpdatedTimestamp"),
        alarm.get("AlarmConfigurationUpdatedTimestamp"),
    )
    return bool(state_at and configured_at and state_at < configured_at)


def put_request(cloudwatch: Any, alarm: Mapping[str, Any]) -> dict[str, Any]:
    """The PutMetricAlarm request that recreates ``alarm`` exactly: each field the operation takes."""
    accepted = cloudwatch.meta.service_model.operation_model("PutMetricAlarm").input_shape.members
    return {
        name: value
        for name, value in alarm.items()
        if name in accepted and name not in NOT_COPIED and value not in (None, [], "")
    }


def point_version_alarms(
    *, codedeploy: Any, cloudwatch: Any, application: str, deployment_group: str, version: str
) -> JudgedBy:
    """Point every per-version alarm the group watches at ``version`` (the alarms' other settings kept).

    Returns which alarms judge the release; ``alarms`` is empty when the group watches none (a stack the
    program has not updated yet), and nothing is touched while another deployment of the group runs."""
    if _call(
        "listing the group's deployments",
        release.active_deployment_ids,
        codedeploy=codedeploy,
        application=application,
        deployment_group=deployment_group,
    ):
        return JudgedBy(version=version, skipped="another deployment of the group is running")
    names = watched_alarms(codedeploy, application=application, deployment_group=deployment_group)
    found: list[dict[str, Any]] = []
    for start in range(0, len(names), DESCRIBE_ALARMS_MAX_NAMES):
        found += _call(
            "reading the deployment group's alarms",
            cloudwatch.describe_alarms,
            AlarmNames=names[start : start + DESCRIBE_ALARMS_MAX_NAMES],
            AlarmTypes=["MetricAlarm"],
        ).get("MetricAlarms", [])
    judged, repointed = [], []
    for alarm in found:
        if not is_per_version(alarm):
            continue
        judged.append(alarm["AlarmName"])
        current = put_request(cloudwatch, alarm)
        wanted = put_request(cloudwatch, pointed_at(alarm, version))
        if wanted != current:
            _call(
                f"pointing alarm {alarm['AlarmName']} at version {version}",
                cloudwatch.put_metric_alarm,
                **wanted,
            )
            repointed.append(alarm["AlarmName"])
        if stale_alarm(alarm, repointed=wanted != current):
            _call(
                f"resetting alarm {alarm['AlarmName']}",
                cloudwatch.set_alarm_state,
                AlarmName=alarm["AlarmName"],
                StateValue="OK",
                StateReason=f"{STATE_REASON} {version}: no data of that version yet",
            )
    return JudgedBy(version=version, alarms=tuple(judged), repointed=tuple(repointed))
