"""``pipeline-ctl account show``: exit codes, the human and JSON output, and that it changes nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.ops.test_account import put_account
from tests.support.cli import Stack, run_in_pty

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_show_tells_the_value_its_origin_and_the_failures_at_80_columns(deployed: Stack, invoke: Any) -> None:
    # GIVEN an account written from an S3 object, and two later updates of it that failed
    put_account(deployed, "acct-1")
    deployed.put_error(
        "err-older", failed_at=T0, account_id="acct-1", message="currency: not 3 letters: 'US'"
    )
    deployed.put_error(
        "err-newer",
        failed_at=T0 + timedelta(minutes=5),
        account_id="acct-1",
        message="balance: not a decimal",
    )

    # WHEN the operator asks, on an 80-column terminal
    result = invoke("account", "show", "acct-1", env={"COLUMNS": "80"})

    # THEN exit 0, and the output says what is stored, where it came from and what failed, newest first
    assert result.exit_code == 0, result.output
    out = result.output
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "12345678901234567890.12" in out
    assert "s3://data/in/accounts.json" in out and "v-7" in out
    assert "record 41 in the file (0-based)" in out
    assert "entered at  2026-03-01 12:00:00.000000 UTC" in out
    assert "failures (2, newest first)" in out
    assert out.index("err-newer") < out.index("err-older")
    assert "2026-03-01 12:05:00.000000 UTC" in out
    # and nothing changed: a read is a read
    assert deployed.get_error("err-newer")["status"] == "NEW"


def test_stored_text_cannot_drive_the_terminal(deployed: Stack, invoke: Any) -> None:
    put_account(
        deployed, "acct-esc", name="Eve\x1b[2J\u202eevil", source="api", ingest_order="x#0000000000#m-1"
    )

    result = invoke("account", "show", "acct-esc")

    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Eve\\x1b[2J\\u202eevil" in result.output
    assert "POST /writer (the API)" in result.output and "m-1" in result.output


def test_limit_says_how_many_are_left_out(deployed: Stack, invoke: Any) -> None:
    for number in range(3):
        deployed.put_error(f"e{number}", failed_at=T0 + timedelta(seconds=number), account_id="acct-3")

    result = invoke("account", "show", "acct-3", "--limit", "2")

    assert result.exit_code == 0, result.output
    assert "not in AccountTable" in result.output
    assert "failures (2 of 3, newest first)" in result.output
    assert "showing 2 of 3 failures (--limit N shows more)" in result.output
    assert "e2" in result.output and "e0" not in result.output


def test_json_is_one_document_with_exact_numbers(deployed: Stack, invoke: Any) -> None:
    put_account(deployed, "acct-1")
    deployed.put_error("err-1", failed_at=T0, account_id="acct-1")

    result = invoke("account", "show", "acct-1", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["item"]["balance"] == "12345678901234567890.12"
    assert document["origin"]["object"] == "s3://data/in/accounts.json"
    assert document["origin"]["version"] == "v-7" and document["origin"]["position"] == 41
    assert [failure["error_id"] for failure in document["failures"]] == ["err-1"]
    assert document["failures_total"] == 1


def test_an_unknown_account_is_one_line_and_exit_1(deployed: Stack, invoke: Any) -> None:
    result = invoke("account", "show", "nobody")

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: no account 'nobody'")
    assert "errors tail" in lines[0]


def test_a_real_80_column_terminal_shows_the_story_escaped(local: Stack, tmp_path: Path) -> None:
    # GIVEN an account whose stored name holds a terminal escape and a bidi override, and one failure
    put_account(local, "acct-tty", name="Eve\x1b]0;pwned\x07\u202eevil")
    local.put_error("err-tty", failed_at=T0, account_id="acct-tty", message="status: not one of active…")

    # WHEN an operator runs the command at a real 80-column terminal
    run = run_in_pty(["account", "show", "acct-tty"], cwd=tmp_path, columns=80)

    # THEN it fits, the stored text is shown escaped (the title is not changed, the text not reversed)
    assert run.returncode == 0, run.output
    plain = re.sub(r"\x1b\[[0-9;]*m", "", run.output)  # rich's own styling (bold labels)
    assert "\x1b]" not in plain and "\u202e" not in plain and "\x07" not in plain
    assert "Eve\\x1b]0;pwned\\x07\\u202eevil" in plain
    assert max(len(line) for line in plain.rstrip("\n").split("\n")) <= 80, plain
    assert "err-tty" in plain and "UTC" in plain
