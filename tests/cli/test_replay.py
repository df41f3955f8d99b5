"""``pipeline-ctl replay-dlq``: each body re-sent once, claimed before it is sent."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from moto.dynamodb.models import DynamoDBBackend

from ops.replay import CLAIM_LEASE, Result, replay
from ops.target import resolve_target
from tests.support.cli import DEPLOYED_STACK, Stack, iso, run_in_pty


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


def replayed_of(stack: Stack) -> dict[str, str]:
    """WriterQueue contents as {replay_of: body}; fails on a body sent twice."""
    messages = stack.drain("writer_queue_url")
    replay_of = [m["MessageAttributes"]["replay_of"]["StringValue"] for m in messages]
    assert len(replay_of) == len(set(replay_of)), f"sent twice: {sorted(replay_of)}"
    return {m["MessageAttributes"]["replay_of"]["StringValue"]: m["Body"] for m in messages}


def test_new_items_across_days_are_sent_once_and_marked(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("e-old", failed_at=now - timedelta(days=1, minutes=5), body='{"account_id": "old"}')
    deployed.put_error(
        "e-new", failed_at=now - timedelta(minutes=1), body='{"account_id": "new"}', source="s3://b/k"
    )
    deployed.put_error("e-done", failed_at=now - timedelta(minutes=2), status="REPLAYED")

    result = invoke("replay-dlq", "--all", "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(e["error_id"], e["result"]) for e in report["entries"]] == [
        ("e-old", "replayed"),
        ("e-new", "replayed"),
    ]
    assert report["counts"] == {"replayed": 2}
    messages = deployed.drain("writer_queue_url")
    assert {m["MessageAttributes"]["replay_of"]["StringValue"]: m["Body"] for m in messages} == {
        "e-old": '{"account_id": "old"}',
        "e-new": '{"account_id": "new"}',
    }
    by_id = {m["MessageAttributes"]["replay_of"]["StringValue"]: m for m in messages}
    assert by_id["e-new"]["MessageAttributes"]["source"]["StringValue"] == "s3://b/k"
    for error_id in ("e-old", "e-new"):
        item = deployed.get_error(error_id)
        assert item["status"] == "REPLAYED"
        assert item["replay_message_id"] == by_id[error_id]["MessageId"]
        assert item["replayed_at"] >= iso(now)
        assert "replay_claim" not in item
    assert "replay_message_id" not in deployed.get_error("e-done")


def test_dry_run_lists_and_changes_nothing(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("e-1", failed_at=now - timedelta(minutes=3))

    result = invoke("replay-dlq", "--dry-run", "--since", "1h")

    assert result.exit_code == 0, result.stderr
    assert "replay from logtable (dry run)" in result.stdout
    assert "e-1" in result.stdout and "would replay" in result.stdout
    assert result.stdout.endswith("would replay: 1\n")
    assert "replay message id" not in result.stdout  # nothing was sent: no empty column for it
    assert deployed.visible("writer_queue_url") == 0
    assert deployed.get_error("e-1")["status"] == "NEW"


def test_filters_since_error_type_and_limit(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("old", failed_at=now - timedelta(hours=5), error_type="InvalidRecord")
    deployed.put_error("retry-1", failed_at=now - timedelta(minutes=30), error_type="RetriesExhausted")
    deployed.put_error("invalid", failed_at=now - timedelta(minutes=20), error_type="InvalidRecord")
    deployed.put_error("retry-2", failed_at=now - timedelta(minutes=10), error_type="RetriesExhausted")

    result = invoke(
        "replay-dlq", "--since", "1h", "--error-type", "RetriesExhausted", "--limit", "1", "--json"
    )

    assert result.exit_code == 0, result.stderr
    assert [e["error_id"] for e in json.loads(result.stdout)["entries"]] == ["retry-1"]
    assert list(replayed_of(deployed)) == ["retry-1"]
    assert [deployed.get_error(i)["status"] for i in ("old", "invalid", "retry-2")] == ["NEW"] * 3


def test_ids_found_replayed_filtered_and_missing(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("a", failed_at=now - timedelta(days=40))  # any age: --id is a GetItem
    deployed.put_error("b", failed_at=now, status="REPLAYED")

    result = invoke("replay-dlq", "--id", "a", "--id", "b", "--id", "zzz", "--json")

    assert result.exit_code == 1
    entries = {e["error_id"]: e["result"] for e in json.loads(result.stdout)["entries"]}
    assert entries == {"a": "replayed", "b": "skipped: already replayed", "zzz": "not found"}
    assert result.stderr == "Error: 1 of 3 could not be replayed (not found: 1)\n"
    assert list(replayed_of(deployed)) == ["a"]


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's item writes atomic, as DynamoDB's are.

    moto checks a ConditionExpression and then writes, with no lock: two threads can both pass the check.
    DynamoDB evaluates the condition and applies the write atomically per item, and the replay's guarantee
    rests on exactly that, so the emulator is made faithful here (the code under test is untouched).
    """
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "get_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_two_concurrent_replays_send_each_body_exactly_once(
    deployed: Stack, now: datetime, atomic_dynamodb
) -> None:
    ids = [f"e-{n:02d}" for n in range(16)]
    for n, error_id in enumerate(ids):
        deployed.put_error(error_id, failed_at=now - timedelta(minutes=60 - n), body=json.dumps({"n": n}))
    operators = [resolve_target(DEPLOYED_STACK), resolve_target(DEPLOYED_STACK)]
    start = threading.Barrier(len(operators))
    reports: list = [None] * len(operators)

    def operate(index: int) -> None:
        start.wait()
        reports[index] = replay(operators[index], since=timedelta(hours=2))

    threads = [threading.Thread(target=operate, args=(i,)) for i in range(len(operators))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = replayed_of(deployed)  # asserts no replay_of appears twice
    assert sorted(sent) == ids
    assert sent["e-07"] == '{"n": 7}'
    replayed = [e.error_id for report in reports for e in report.entries if e.result is Result.REPLAYED]
    assert sorted(replayed) == ids  # between them, every item replayed by exactly one operator
    assert all(deployed.get_error(error_id)["status"] == "REPLAYED" for error_id in ids)


def test_a_live_claim_is_respected_and_an_expired_one_taken_over(deployed: Stack, now: datetime) -> None:
    deployed.put_error(
        "held", failed_at=now - timedelta(minutes=5), replay_claim="x", replay_claimed_at=iso(now)
    )
    stale = iso(now - CLAIM_LEASE - timedelta(minutes=1))
    deployed.put_error(
        "crashed", failed_at=now - timedelta(minutes=4), replay_claim="y", replay_claimed_at=stale
    )

    report = replay(resolve_target(DEPLOYED_STACK), since=timedelta(hours=1))

    assert {e.error_id: e.result for e in report.entries} == {
        "held": Result.CLAIMED,
        "crashed": Result.REPLAYED,
    }
    assert list(replayed_of(deployed)) == ["crashed"]
    assert deployed.get_error("held")["status"] == "NEW"


def test_a_failed_send_releases_the_claim(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("e-1", failed_at=now - timedelta(minutes=1))
    deployed.client("sqs").delete_queue(QueueUrl=deployed.outputs["writer_queue_url"])

    result = invoke("replay-dlq", "--since", "1h", "--json")

    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)["entries"]
    assert entry["result"] == "failed"
    assert "NonExistentQueue" in entry["detail"]
    item = deployed.get_error("e-1")
    assert item["status"] == "NEW"
    assert "replay_claim" not in item


def put_dlq(stack: Stack, body: str, **attributes: str) -> str:
    return stack.client("sqs").send_message(
        QueueUrl=stack.outputs["dlq_url"],
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )["MessageId"]


def test_from_dlq_resends_then_deletes(invoke, deployed: Stack) -> None:
    first = put_dlq(deployed, '{"account_id": "x"}', error_type="InvalidRecord", source="api")
    second = put_dlq(deployed, '{"source": "s3://b/k", "records": []}')

    result = invoke("replay-dlq", "--from", "dlq", "--yes", "--json")

    assert result.exit_code == 0, result.stderr
    entries = {e["error_id"]: (e["error_type"], e["result"]) for e in json.loads(result.stdout)["entries"]}
    assert entries == {first: ("InvalidRecord", "replayed"), second: ("RetriesExhausted", "replayed")}
    assert replayed_of(deployed) == {
        first: '{"account_id": "x"}',
        second: '{"source": "s3://b/k", "records": []}',
    }
    assert deployed.drain("dlq_url") == []


def test_from_dlq_dry_run_and_limit_leave_the_rest_visible(invoke, deployed: Stack) -> None:
    ids = [put_dlq(deployed, json.dumps({"n": n}), error_type="InvalidRecord") for n in range(3)]

    dry = invoke("replay-dlq", "--from", "dlq", "--dry-run", "--json")
    limited = invoke("replay-dlq", "--from", "dlq", "--limit", "2", "--json")

    assert dry.exit_code == 0 and limited.exit_code == 0, dry.stderr + limited.stderr
    assert sorted(e["error_id"] for e in json.loads(dry.stdout)["entries"]) == sorted(ids)
    assert [e["result"] for e in json.loads(limited.stdout)["entries"]] == ["replayed", "replayed"]
    assert len(replayed_of(deployed)) == 2
    assert deployed.visible("dlq_url") == 1


def test_bad_source_is_a_usage_error(invoke, deployed: Stack) -> None:
    result = invoke("replay-dlq", "--from", "s3")

    assert (result.exit_code, result.stderr) == (
        2,
        "Error: Invalid value for '--from': 's3' is not one of 'logtable', 'dlq'. "
        "(see `pipeline-ctl replay-dlq --help`)\n",
    )


def test_empty_id_is_a_usage_error(invoke, deployed: Stack) -> None:
    result = invoke("replay-dlq", "--id", "")

    assert (result.exit_code, result.stderr) == (2, "Error: --id must not be empty\n")


def test_a_bare_replay_needs_all_or_yes_when_nobody_can_answer(
    invoke, deployed: Stack, now: datetime
) -> None:
    deployed.put_error("e-1", failed_at=now - timedelta(minutes=1))
    deployed.put_error("e-2", failed_at=now - timedelta(minutes=2))

    refused = invoke("replay-dlq")
    untouched = deployed.get_error("e-1")["status"]
    forced = invoke("replay-dlq", "--all", "--json")

    assert refused.exit_code == 2
    assert refused.stderr == (
        "Error: no filter given: this would replay all 2 failures (narrow it with "
        "--since/--error-type/--id/--limit, or pass --all (or --yes))\n"
    )
    assert untouched == "NEW"
    assert json.loads(forced.stdout)["counts"] == {"replayed": 2}


@pytest.mark.parametrize(("answer", "status"), [("n\n", "NEW"), ("y\n", "REPLAYED")])
def test_a_bare_replay_asks_on_a_terminal(local: Stack, tmp_path, answer: str, status: str) -> None:
    local.put_error("e-1", failed_at=datetime.now(UTC) - timedelta(minutes=1))

    run = run_in_pty(["replay-dlq"], cwd=tmp_path, answers={"[y/N]": answer})

    assert run.returncode == 0, run.output  # declining is not a failure
    assert "Error" not in run.output
    assert "Replay all 1? [y/N]" in run.output
    assert "would replay" in run.output  # what would be replayed is shown before the question
    assert local.get_error("e-1")["status"] == status
    assert ("nothing replayed (narrow it with" in run.output) is (status == "NEW")


def test_show_names_what_a_failed_replay_replayed(invoke, deployed: Stack, now: datetime) -> None:
    deployed.put_error("again", failed_at=now, replay_of="0f6b3c1e-first-failure")

    result = invoke("errors", "show", "again")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "error_id       again",
        "status         NEW",
        "replay_of      0f6b3c1e-first-failure",
    ]
