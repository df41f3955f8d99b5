"""The functions' log lines as the library reads them (CloudWatch Logs in moto, the local file), and the
accounting of an uploaded file built on them. The lines are real handler output, captured from a local stack
run (``data/local-functions.log``), and put into CloudWatch Logs as Lambda would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ops.accounting import account_for
from ops.errors import InvalidInput
from ops.logs import LOCAL_SOURCE, LocalLogFile, check_functions, read_events
from ops.target import resolve_target
from tests.support.cli import DEPLOYED_STACK, Stack

LINES = (Path(__file__).parent / "data" / "local-functions.log").read_text(encoding="utf-8").splitlines()
SOURCE = "s3://serverless-pipeline-local-data/x.json"


def captured(service: str, message: str) -> dict[str, Any]:
    return next(json.loads(line) for line in LINES if f'"service":"{service}"' in line and message in line)


def put_lines(stack: Stack, function_key: str, documents: list[dict[str, Any]], at: datetime) -> None:
    logs, group = stack.client("logs"), f"/aws/lambda/{stack.outputs[function_key]}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="2026/12/06/[$LATEST]abc")
    events = [
        {"timestamp": int((at + timedelta(milliseconds=n)).timestamp() * 1000), "message": json.dumps(doc)}
        for n, doc in enumerate(documents)
    ]
    logs.put_log_events(logGroupName=group, logStreamName="2026/12/06/[$LATEST]abc", logEvents=events)


def test_the_local_file_names_each_lines_function() -> None:
    source = LocalLogFile(Path(__file__).parent / "data" / "local-functions.log")
    since = datetime(2026, 1, 1, tzinfo=UTC)

    every = list(source.events(check_functions([]), since=since, until=None, contains=None))
    writer = list(source.events(["writer"], since=since, until=None, contains=None))

    assert [event.function for event in every] == [
        *(["transformer", "writer", "writer", "error-handler"] * 2),
        LOCAL_SOURCE,
        LOCAL_SOURCE,
        LOCAL_SOURCE,
    ]
    assert every[-1].timestamp == every[-3].timestamp  # a traceback's lines belong to the line before them
    assert [event.fields and event.fields.get("message") for event in writer] == [
        "message processed",
        None,
    ] * 2
    assert writer[0].timestamp == datetime(2026, 12, 6, 22, 14, 42, 962000, tzinfo=UTC)
    assert writer[1].timestamp == datetime(2026, 12, 6, 22, 14, 42, 962000, tzinfo=UTC)  # EMF's own stamp


def test_unknown_function_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown function 'lambda'"):
        check_functions(["writer", "lambda"])


def test_cloudwatch_events_of_several_functions_merge_by_time(deployed: Stack) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    put_lines(
        deployed, "writer_function", [captured("writer", "message processed")], now + timedelta(seconds=1)
    )
    put_lines(deployed, "transformer_function", [captured("transformer", "transformed")], now)
    target = resolve_target(DEPLOYED_STACK)

    events = list(read_events(target, [], since=now - timedelta(minutes=1)))
    filtered = list(
        read_events(target, ["writer"], since=now - timedelta(minutes=1), contains="no such text")
    )

    assert [(event.function, event.fields["message"]) for event in events] == [  # type: ignore[index]
        ("transformer", "transformed"),
        ("writer", "message processed"),
    ]
    assert filtered == []  # and the error handler's group, never created, is simply empty


def test_deployed_accounting_counts_each_message_once_and_redriven_envelopes(deployed: Stack) -> None:
    uploaded_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    transformed = {**captured("transformer", "transformed"), "records": 6}
    first = {**captured("writer", "message processed"), "message_id": "m-1", "written": 2, "invalid": 1}
    again = {**first}  # SQS delivered m-1 twice: the writer logged it twice
    put_lines(deployed, "transformer_function", [transformed], uploaded_at + timedelta(seconds=1))
    put_lines(deployed, "writer_function", [first, again], uploaded_at + timedelta(seconds=2))
    target = resolve_target(DEPLOYED_STACK)

    partial = account_for(target, SOURCE, since=uploaded_at, records=6)
    deployed.put_error(
        "redriven",
        failed_at=uploaded_at + timedelta(seconds=3),
        error_type="RetriesExhausted",
        source=SOURCE,
        body=json.dumps({"source": SOURCE, "records": [{}, {}, {}]}),
    )
    complete = account_for(target, SOURCE, since=uploaded_at, records=6)

    assert (partial.read, partial.written, partial.invalid, partial.accounted, partial.state) == (
        6,
        2,
        1,
        3,
        "processing",
    )
    assert (complete.redriven, complete.accounted, complete.done) == (3, 6, True)


def test_lines_from_before_the_upload_do_not_count(deployed: Stack) -> None:
    uploaded_at = datetime.now(UTC).replace(microsecond=0)
    earlier = {**captured("writer", "message processed"), "message_id": "old"}
    put_lines(deployed, "writer_function", [earlier], uploaded_at - timedelta(seconds=30))

    account = account_for(resolve_target(DEPLOYED_STACK), SOURCE, since=uploaded_at, records=6)

    assert (account.written, account.read, account.state) == (0, None, "waiting")
