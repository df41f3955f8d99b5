"""``pipeline-ctl errors tail|show``: newest first across days, filters, JSON Lines, --follow, show."""

from __future__ import annotations

import _thread
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.cli import ERRORS_TAIL_COLUMNS, Stack, header_cells


@pytest.fixture
def errors(deployed: Stack) -> list[str]:
    """Four errors: two today, one more than a day ago (previous day), one three days ago."""
    now = datetime.now(UTC)
    deployed.put_error("e-3d", failed_at=now - timedelta(days=3), error_type="InvalidRecord")
    deployed.put_error(
        "e-26h", failed_at=now - timedelta(hours=26), error_type="RetriesExhausted", source="s3://b/k"
    )
    deployed.put_error(
        "e-2h", failed_at=now - timedelta(hours=2), error_type="InvalidRecord", status="REPLAYED"
    )
    deployed.put_error(
        "e-1m", failed_at=now - timedelta(minutes=1), error_type="MalformedMessage", body="not json{"
    )
    return ["e-1m", "e-2h", "e-26h", "e-3d"]


def ids(stdout: str) -> list[str]:
    return [json.loads(line)["error_id"] for line in stdout.splitlines()]


def test_tail_is_newest_first_across_day_boundaries(invoke, errors: list[str]) -> None:
    result = invoke("errors", "tail", "--since", "2d", "--json")

    assert result.exit_code == 0, result.stderr
    assert ids(result.stdout) == ["e-1m", "e-2h", "e-26h"]
    first = json.loads(result.stdout.splitlines()[0])
    assert (first["error_type"], first["body"], first["status"]) == ("MalformedMessage", "not json{", "NEW")


def test_tail_default_window_limit_and_type(invoke, errors: list[str]) -> None:
    default = invoke("errors", "tail", "--json")
    limited = invoke("errors", "tail", "--since", "1w", "--limit", "2", "--json")
    typed = invoke("errors", "tail", "--since", "1w", "--error-type", "InvalidRecord", "--json")

    assert ids(default.stdout) == ["e-1m", "e-2h"]  # 24 hours
    assert ids(limited.stdout) == ["e-1m", "e-2h"]
    assert ids(typed.stdout) == ["e-2h", "e-3d"]


def test_tail_human_table_and_empty(invoke, errors: list[str]) -> None:
    result = invoke("errors", "tail", "--since", "3h")
    empty = invoke("errors", "tail", "--since", "1h", "--error-type", "UnreadableFile")

    assert result.exit_code == 0
    header = result.stdout.splitlines()[1]
    assert header_cells(header) == ERRORS_TAIL_COLUMNS
    assert result.stdout.index("e-1m") < result.stdout.index("e-2h")
    assert (empty.exit_code, empty.stdout) == (0, "no errors\n")


def test_follow_prints_new_errors_until_ctrl_c(invoke, deployed: Stack, errors: list[str]) -> None:
    def arrive_then_interrupt() -> None:
        deployed.put_error("e-live", failed_at=datetime.now(UTC), error_type="InvalidRecord")
        threading.Timer(0.6, _thread.interrupt_main).start()

    threading.Timer(0.3, arrive_then_interrupt).start()

    result = invoke("errors", "tail", "--since", "3h", "--follow", "--interval", "0.1", "--json")

    assert result.exit_code == 0, result.stderr
    assert ids(result.stdout) == ["e-2h", "e-1m", "e-live"]  # recent ones oldest first, then what arrived


def test_show_pretty_prints_a_json_body(invoke, deployed: Stack) -> None:
    deployed.put_error(
        "e-1",
        failed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        body='{"account_id":"a-1","balance":"abc"}',
    )

    result = invoke("errors", "show", "e-1")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith('body:\n{\n  "account_id": "a-1",\n  "balance": "abc"\n}\n')
    assert "\nerror_message  balance: not a decimal: 'abc'\n" in result.stdout
    assert "\nfailed_at      2026-01-02T03:04:05.000000Z\n" in result.stdout


def test_show_keeps_a_non_json_body_verbatim_and_json_mode_is_the_item(invoke, deployed: Stack) -> None:
    deployed.put_error("e-2", failed_at=datetime.now(UTC), body="not json{")

    human = invoke("errors", "show", "e-2")
    machine = invoke("errors", "show", "e-2", "--json")

    assert human.stdout.endswith("body:\nnot json{\n")
    item = json.loads(machine.stdout)
    assert (item["error_id"], item["body"], item["receive_count"]) == ("e-2", "not json{", 1)


def test_show_unknown_id_is_exit_1(invoke, deployed: Stack) -> None:
    result = invoke("errors", "show", "nope")

    assert result.exit_code == 1
    table = deployed.outputs["log_table"]
    assert (
        result.stderr
        == f"Error: no error nope in {table} (list recent ones with `pipeline-ctl errors tail`)\n"
    )


def test_show_empty_id_is_a_usage_error(invoke, deployed: Stack) -> None:
    result = invoke("errors", "show", " ")

    assert result.exit_code == 2
    hint = "(list recent ones with `pipeline-ctl errors tail`)"
    assert result.stderr == f"Error: the error id is empty {hint}\n"
