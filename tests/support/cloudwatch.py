"""The two things CloudWatch does that moto does not: metrics from EMF log lines, and evaluating alarms.

- :class:`EmfExtractor` reads what the handlers printed (what Lambda sends to CloudWatch Logs) and puts
  every EMF document's values into moto's CloudWatch with ``PutMetricData``, once per dimension set the
  document declares, at the document's own timestamp: what CloudWatch Logs does with an EMF line.
- :func:`evaluate_alarm` reads an alarm's own definition (``DescribeAlarms``), fetches its metrics for its
  evaluation window from moto with ``GetMetricData`` (moto sums the data points per period), computes the
  alarm's metric-math expression here (moto 5.2 evaluates none: it only returns a query by id), compares the
  newest ``EvaluationPeriods`` values with the threshold (``DatapointsToAlarm`` of them must breach; no data
  counts as ``TreatMissingData`` says) and records the verdict with ``SetAlarmState``. CodeDeploy (or its
  stand-in) then reads the state, as it reads a real alarm's.

Time is compressed: a test's "minute" of traffic takes seconds, and the window is the alarm's real length
ending now, so it holds the newest traffic. The expression language is the subset our alarms use (numbers,
query ids, ``+ - * /``, parentheses, ``FILL(id, number)``); anything else raises, so an alarm written with
more cannot pass unevaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

Series = dict[datetime, float]

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


class EmfExtractor:
    """Turns EMF documents in a function's output into moto metric data."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch

    def extract(self, output: str) -> int:
        """Put the metrics of every EMF line in ``output``; returns how many data points were put."""
        put = 0
        for line in output.splitlines():
            if line.startswith("{") and '"_aws"' in line:
                put += self._put(json.loads(line))
        return put

    def _put(self, document: Mapping[str, Any]) -> int:
        metadata = document["_aws"]
        stamp = datetime.fromtimestamp(metadata["Timestamp"] / 1000, tz=UTC)
        put = 0
        for directive in metadata["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = _by_name(
                    [{"Name": name, "Value": str(document[name])} for name in dimension_set]
                )
                data = []
                for metric in directive["Metrics"]:
                    values = document[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        data.append(
                            {
                                "MetricName": metric["Name"],
                                "Dimensions": dimensions,
                                "Timestamp": stamp,
                                "Value": float(value),
                                "Unit": metric.get("Unit", "None"),
                            }
                        )
                self._cloudwatch.put_metric_data(Namespace=directive["Namespace"], MetricData=data)
                put += len(data)
        return put


# --- metric math ---------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def _tokens(expression: str) -> list[str]:
    return [match.group(0).strip() for match in _TOKEN.finditer(expression) if match.group(0).strip()]


class _Expression:
    """Recursive descent over ``expr := term (+|- term)*; term := factor (*|/ factor)*``."""

    def __init__(self, expression: str, series: Mapping[str, Series]) -> None:
        self.tokens = _tokens(expression)
        self.position = 0
        self.series = series
        self.timestamps = sorted({t for values in series.values() for t in values})

    def evaluate(self) -> Series | float:
        value = self._sum()
        if self.position != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.position]!r}")
        return value

    def _next(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _sum(self) -> Series | float:
        value = self._product()
        while self._peek() in ("+", "-"):
            operator = self._next()
            right = self._product()
            value = _combine(value, right, (lambda a, b: a + b) if operator == "+" else (lambda a, b: a - b))
        return value

    def _product(self) -> Series | float:
        value = self._factor()
        while self._peek() in ("*", "/"):
            operator = self._next()
            right = self._factor()
            value = _combine(value, right, (lambda a, b: a * b) if operator == "*" else _divide)
        return value

    def _factor(self) -> Series | float:
        token = self._next()
        if token == "(":
            value = self._sum()
            if self._next() != ")":
                raise ValueError("missing )")
            return value
        if token == "FILL":
            if self._next() != "(":
                raise ValueError("FILL needs (")
            name = self._next()
            if self._next() != ",":
                raise ValueError("FILL needs two arguments")
            fill = float(self._next())
            if self._next() != ")":
                raise ValueError("FILL takes a query id and a number")
            known = self.series[name]
            return {t: known.get(t, fill) for t in self.timestamps}
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return float(token)
        if token in self.series:
            return dict(self.series[token])
        raise ValueError(f"metric math {token!r} is not evaluated by this emulation")


def _divide(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _combine(left: Series | float, right: Series | float, operation: Callable[[float, float], float]) -> Any:
    if isinstance(left, dict) and isinstance(right, dict):
        return {t: operation(left[t], right[t]) for t in left if t in right}
    if isinstance(left, dict):
        return {t: operation(value, float(right)) for t, value in left.items()}  # type: ignore[arg-type]
    if isinstance(right, dict):
        return {t: operation(float(left), value) for t, value in right.items()}
    return operation(left, right)


# --- alarms --------------------------------------------------------------------------------------------


def _by_name(dimensions: list[dict[str, str]]) -> list[dict[str, str]]:
    """Dimensions in one order on both sides: CloudWatch matches them as a set, moto 5.2 compares lists
    sorted with an ordering that depends on the order given (``Dimension.__lt__``)."""
    return sorted(dimensions, key=lambda dimension: dimension["Name"])


def _query(query_id: str, metric: Mapping[str, Any], period: int, stat: str) -> dict[str, Any]:
    metric = {**metric, "Dimensions": _by_name(list(metric.get("Dimensions") or []))}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}


def alarm_values(cloudwatch: Any, alarm: Mapping[str, Any], now: datetime) -> tuple[list[float], int]:
    """The alarm's values over its evaluation window ending ``now`` (oldest first), and its period."""
    if alarm.get("Metrics"):
        stats = [q for q in alarm["Metrics"] if "MetricStat" in q]
        [returned] = [q for q in alarm["Metrics"] if q.get("ReturnData", True)]
        period = max(int(q["MetricStat"]["Period"]) for q in stats)
        queries = [
            _query(q["Id"], q["MetricStat"]["Metric"], q["MetricStat"]["Period"], q["MetricStat"]["Stat"])
            for q in stats
        ]
    else:
        period = int(alarm["Period"])
        metric = {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"]}
        metric["Dimensions"] = alarm.get("Dimensions") or []
        queries = [_query("m", metric, period, alarm["Statistic"])]
        returned = {"Id": "m"}
    start = now - timedelta(seconds=period * int(alarm["EvaluationPeriods"]))
    answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=now)
    series: dict[str, Series] = {
        result["Id"]: dict(zip(result["Timestamps"], result["Values"], strict=True))
        for result in answer["MetricDataResults"]
    }
    if "Expression" in returned:
        value = _Expression(returned["Expression"], series).evaluate()
    else:
        value = series[returned["Id"]]
    if not isinstance(value, dict):
        raise ValueError(f"alarm {alarm['AlarmName']}: its expression is a constant")
    return [v for _, v in sorted(value.items()) if v == v], period  # NaN (0/0) is no data point


def evaluate_alarm(cloudwatch: Any, name: str, *, now: datetime | None = None) -> str:
    """Evaluate alarm ``name`` on the data moto holds, set its state, return it (``OK`` or ``ALARM``)."""
    now = now or datetime.now(UTC)
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    values, period = alarm_values(cloudwatch, alarm, now)
    periods = int(alarm["EvaluationPeriods"])
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    compare = COMPARISONS[alarm["ComparisonOperator"]]
    newest = values[-periods:]
    breaching = sum(1 for value in newest if compare(value, float(alarm["Threshold"])))
    if not newest and alarm.get("TreatMissingData") == "breaching":
        breaching = periods
    state = "ALARM" if breaching >= needed else "OK"
    cloudwatch.set_alarm_state(
        AlarmName=name,
        StateValue=state,
        StateReason=f"emulated evaluation: {breaching} of {len(newest)} data point(s) of {period}s breaching "
        f"({', '.join(f'{value:g}' for value in newest) or 'no data'})",
    )
    return state
