"""pipeline-ctl's commands against a running local stack (real HTTP, real handlers), through Typer's runner.

The CLI's own tests use ``mock_aws``; these check that the same commands work on the stack a newcomer runs,
where records really flow: the side effect is checked in the tables, not only the command's output.
Handlers may print (Powertools logs, EMF) while a command runs, so output is searched, not parsed, when the
pipeline is busy during the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from functions.model import ErrorType, LogStatus
from local_stack.stack import LocalStack
from tests.support.e2e import account, log_items_mentioning
from tests.support.functions import record

pytestmark = pytest.mark.e2e


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_send_posts_records_and_they_are_written(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    result = run("send", "--record", json.dumps(record(f"{prefix}-send")))
    pipeline.wait_until_idle(30)
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    assert account(pipeline, f"{prefix}-send") is not None


def test_upload_wait_follows_a_file_until_its_records_are_processed(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    data = in_stack_dir / f"{prefix}.json"
    records = [record(f"{prefix}-{n}") for n in range(20)] + [record(f"{prefix}-bad", currency="EURO")]
    data.write_text(json.dumps(records))
    result = run("upload", str(data), "--prefix", "incoming", "--wait", "--timeout", "60")
    pipeline.wait_until_idle(30)
    assert result.exit_code == 0, result.output
    assert all(account(pipeline, f"{prefix}-{n}") is not None for n in range(20))
    (logged,) = log_items_mentioning(pipeline, f"{prefix}-bad")
    assert logged["error_type"] == ErrorType.INVALID_RECORD and "currency" in logged["error_message"]


def test_errors_tail_and_show_find_a_logged_error(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    run("send", "--record", json.dumps(record(f"{prefix}-tail", email="nobody")))
    pipeline.wait_until_idle(30)
    (item,) = log_items_mentioning(pipeline, f"{prefix}-tail")

    tail = run("--json", "errors", "tail", "--since", "1h", "--limit", "500")
    assert tail.exit_code == 0, tail.output
    listed = [json.loads(line) for line in tail.output.splitlines() if line.startswith("{")]
    assert item["error_id"] in {entry["error_id"] for entry in listed}

    show = run("--json", "errors", "show", item["error_id"])
    assert show.exit_code == 0, show.output
    shown = json.loads(show.output)
    assert shown["error_id"] == item["error_id"]
    assert "email" in shown["error_message"]

    missing = run("errors", "show", "no-such-error")
    assert missing.exit_code == 1
    assert "Traceback" not in missing.output


def test_status_reports_the_local_queues_and_log_counts(pipeline: LocalStack, in_stack_dir: Path) -> None:
    pipeline.wait_until_idle(30)
    result = run("--json", "status")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["stack"] == "local"
    assert set(report["queues"]) >= {"writer_queue", "dlq"}


def test_a_write_fault_goes_to_the_dlq_by_redrive_and_replay_dlq_writes_it(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    flaky = f"{prefix}-replay"
    pipeline.faults.fail_account_ids([flaky])
    run("send", "--record", json.dumps(record(flaky)))
    pipeline.wait_until_idle(60)
    assert account(pipeline, flaky) is None
    (item,) = log_items_mentioning(pipeline, flaky)
    assert item["error_type"] == ErrorType.RETRIES_EXHAUSTED, "no error_type attribute: came by the redrive"
    assert int(item["receive_count"]) >= 1
    assert pipeline.counters()["dynamodb.faulted"] >= 1
    pipeline.faults.clear()

    dry = run("--json", "replay-dlq", "--dry-run", "--id", item["error_id"])
    assert dry.exit_code == 0, dry.output
    pipeline.wait_until_idle(30)
    assert account(pipeline, flaky) is None
    assert log_items_mentioning(pipeline, flaky)[0]["status"] == LogStatus.NEW

    real = run("replay-dlq", "--error-type", "RetriesExhausted", "--id", item["error_id"])
    assert real.exit_code == 0, real.output
    pipeline.wait_until_idle(30)
    assert account(pipeline, flaky) is not None
    assert log_items_mentioning(pipeline, flaky)[0]["status"] == LogStatus.REPLAYED


def test_without_a_running_stack_commands_fail_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("status")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "local up" in result.output


def test_account_show_tells_the_written_value_and_the_update_that_failed(
    pipeline: LocalStack, in_stack_dir: Path, prefix: str
) -> None:
    # GIVEN an account written from an uploaded file, then an invalid update of it sent through the API
    account_id = f"{prefix}-story"
    data = in_stack_dir / f"{prefix}-story.json"
    data.write_text(json.dumps([record(f"{prefix}-other"), record(account_id, balance="12.30")]))
    assert run("upload", str(data), "--prefix", "incoming", "--wait", "--timeout", "60").exit_code == 0
    bad = run(
        "send", "--record", json.dumps(record(account_id, balance="abc", updated_at="2026-01-02T00:00:00Z"))
    )
    assert bad.exit_code == 0, bad.output
    pipeline.wait_until_idle(30)

    # WHEN the operator asks for the account's story
    shown = run("--json", "account", "show", account_id)
    human = run("account", "show", account_id)

    # THEN it tells both: the value from the file (object, version, position) and the failed update
    assert shown.exit_code == 0, shown.output
    story = json.loads(shown.output)
    assert story["item"]["balance"] == "12.30"
    origin = story["origin"]
    assert origin["object"] == f"s3://{pipeline.outputs['data_bucket']}/incoming/{data.name}"
    # (moto's S3 events carry no versionId, so locally the version is not known; tests/ops covers it)
    assert origin["position"] == 1 and origin["entered_at"].endswith("Z")
    [failure] = story["failures"]
    assert failure["error_type"] == ErrorType.INVALID_RECORD and "balance" in failure["error_message"]
    assert failure["source"] == "api"
    assert human.exit_code == 0, human.output
    assert "record 1 in the file (0-based)" in human.output and failure["error_id"] in human.output
