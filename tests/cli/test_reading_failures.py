"""Reading what failed, as an operator at a terminal does: bounded bodies, a pager, escaped text, zoned times,
and a tail that says when it left items out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.cli import Stack, run_in_pty

HOSTILE = "pay\u009b2J\u202eevil\x1b[31m\u200bend"
"""C1 CSI, a right-to-left override, ESC and a zero-width space: what an API client can put in a body."""


def batch_body(count: int) -> str:
    records = [
        {"account_id": f"acc-{index:05d}", "name": "N", "email": "n@example.com", "balance": "1"}
        for index in range(count)
    ]
    return json.dumps({"records": records})


@pytest.fixture
def batch(deployed: Stack) -> str:
    message = "writer failed 3 times; 2 of 1558 records are invalid: record 17: balance: bad; record 901: x"
    deployed.put_error(
        "batch-1",
        failed_at=datetime.now(UTC) - timedelta(minutes=1),
        error_type="RetriesExhausted",
        body=batch_body(1558),
        message=message,
    )
    return "batch-1"


def test_show_of_a_batch_is_bounded_and_says_how_to_get_all_of_it(invoke, batch: str) -> None:
    result = invoke("errors", "show", batch)

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) < 80  # was one line per field of every record: 14,043 lines for such a body
    assert any(line.startswith("body (1,558 records, ") for line in lines)
    assert "record 0:" in lines and "record 2:" in lines and "record 3:" not in lines
    assert "record 17 (named in the reason):" in lines and "record 901 (named in the reason):" in lines
    assert lines[-1] == (
        "… 1,553 more records "
        "(the whole body: --full (paged on a terminal), or --json for the item as stored)"
    )


def test_show_full_and_json_give_the_whole_body(invoke, batch: str) -> None:
    full = invoke("errors", "show", batch, "--full")
    as_json = invoke("errors", "show", batch, "--json")

    assert full.exit_code == as_json.exit_code == 0
    assert all(f"acc-{index:05d}" in full.stdout for index in (0, 777, 1557))
    assert len(json.loads(json.loads(as_json.stdout)["body"])["records"]) == 1558


def test_show_never_pages_when_piped(invoke, batch: str, monkeypatch) -> None:
    monkeypatch.setenv("PAGER", "sed s/^/PAGED:/")

    piped = invoke("errors", "show", batch)

    assert piped.exit_code == 0
    assert "PAGED:" not in piped.stdout


def test_show_pages_through_the_pager_on_a_real_terminal(local: Stack, tmp_path, monkeypatch) -> None:
    local.put_error("paged-1", failed_at=datetime.now(UTC), body=batch_body(100))
    monkeypatch.setenv("PAGER", "sed s/^/PAGED:/")

    run = run_in_pty(["errors", "show", "paged-1"], cwd=tmp_path, columns=80)

    text = re.sub(r"\x1b\[[0-9;]*m", "", run.output)  # bold labels
    assert run.returncode == 0, text
    assert "PAGED:error_id" in text
    assert "PAGED:record 0:" in text


def test_text_from_the_pipeline_is_escaped_everywhere_a_human_reads_it(invoke, deployed: Stack) -> None:
    deployed.put_error("hostile", failed_at=datetime.now(UTC), body=HOSTILE, message=f"bad {HOSTILE}")

    shown = invoke("errors", "show", "hostile")
    tailed = invoke("errors", "tail")
    as_json = invoke("errors", "show", "hostile", "--json")

    escaped = "pay\\x9b2J\\u202eevil\\x1b[31m\\u200bend"
    for result in (shown, tailed):
        assert result.exit_code == 0, result.stderr
        assert escaped in result.stdout.replace("\n", "").replace(" ", "")
        for raw in ("\u009b", "\u202e", "\x1b", "\u200b"):
            assert raw not in result.stdout
    assert json.loads(as_json.stdout)["body"] == HOSTILE  # machine output keeps the stored text exactly


def test_every_human_time_carries_its_zone_and_json_uses_z(invoke, deployed: Stack) -> None:
    failed_at = datetime.now(UTC).replace(microsecond=0)
    deployed.put_error("t-1", failed_at=failed_at)

    tailed = invoke("errors", "tail")
    as_json = invoke("errors", "tail", "--json")

    assert tailed.exit_code == 0
    row = next(line for line in tailed.stdout.splitlines() if "t-1" in line)
    assert f" {failed_at:%Y-%m-%d %H:%M:%S} UTC " in row
    assert json.loads(as_json.stdout)["failed_at"].endswith("Z")


def test_tail_says_how_many_it_left_out(invoke, deployed: Stack) -> None:
    now = datetime.now(UTC)
    for index in range(22):
        deployed.put_error(f"e-{index:02d}", failed_at=now - timedelta(minutes=index + 1))

    default = invoke("errors", "tail")
    everything = invoke("errors", "tail", "--limit", "22")
    as_json = invoke("errors", "tail", "--json")

    assert default.stdout.endswith("showing 20 of 22 (--limit N to see more)\n")
    assert "showing" not in everything.stdout
    assert len(as_json.stdout.splitlines()) == 20
    assert as_json.stderr == "showing 20 of 22 (--limit N to see more)\n"
