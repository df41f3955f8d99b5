"""What operators read: tables that never lose a column, at the terminal's real width, and literal text.

Widths are set the way a terminal sets them: ``COLUMNS`` for piped output, a pseudo-terminal's window size
where the TTY matters.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import ERRORS_TAIL_COLUMNS, Stack, header_cells, run_in_pty

ROOT = Path(__file__).resolve().parents[2]
ERROR_ID = "64bbaa8c-11c8-4369-826a-5ed16b525fb9"
MESSAGE = "email: not an email address (local@domain.tld): 'barbara@example'"
SOURCE = "s3://serverless-pipeline-local-data/incoming/2026/accounts-of-november.json"
MARKUP_MESSAGE = "balance: [/x] is not a decimal [bold]really[/bold]"
MARKUP_SOURCE = "[red]s3://b/[/]k.json"


@pytest.fixture
def long_error(deployed: Stack) -> dict:
    return deployed.put_error(
        ERROR_ID,
        failed_at=datetime.now(UTC) - timedelta(minutes=5),
        error_type="RetriesExhausted",
        message=MESSAGE,
        source=SOURCE,
    )


def lines_of(stdout: str) -> list[str]:
    return stdout.rstrip("\n").split("\n")


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_errors_tail_keeps_message_and_source_readable(invoke, long_error: dict, columns: int) -> None:
    result = invoke("errors", "tail", env={"COLUMNS": str(columns)})

    assert result.exit_code == 0, result.stderr
    lines = lines_of(result.stdout)
    assert max(len(line) for line in lines) <= columns
    # one block per error: every value whole (a long one folded onto the next lines), the id on one line
    assert f"error id   {ERROR_ID}" in lines, result.stdout
    assert all(line == line.rstrip() for line in lines)
    assert MESSAGE in " ".join(result.stdout.split())
    assert SOURCE in "".join(result.stdout.split())
    assert f"failed at  {long_error['failed_at'][:10]} {long_error['failed_at'][11:19]}" in result.stdout


def test_a_wide_terminal_gets_a_table(invoke, long_error: dict) -> None:
    result = invoke("errors", "tail", env={"COLUMNS": "200"})

    header = lines_of(result.stdout)[1]
    assert header_cells(header) == ERRORS_TAIL_COLUMNS
    assert max(len(line) for line in lines_of(result.stdout)) <= 200
    message_cells = [
        line.split("┃" if "┃" in line else "│")[3].strip() for line in lines_of(result.stdout)[3:-1]
    ]
    assert " ".join(cell for cell in message_cells if cell) == MESSAGE  # folded, never cut
    assert ERROR_ID in result.stdout


def test_wide_keeps_the_table_and_whole_timestamps_at_80_columns(invoke, long_error: dict) -> None:
    result = invoke("errors", "tail", "--wide", env={"COLUMNS": "80"})

    lines = lines_of(result.stdout)
    assert "failed at" in lines[1] and "error id" in lines[1]
    row = next(line for line in lines if ERROR_ID in line)
    assert long_error["failed_at"] in row and MESSAGE in row and SOURCE in row


def test_replay_dry_run_keeps_source_and_result_at_80_columns(invoke, long_error: dict) -> None:
    result = invoke("replay-dlq", "--dry-run", "--since", "1h", env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in lines_of(result.stdout)) <= 80
    assert "result    would replay" in result.stdout
    assert "source" in result.stdout and SOURCE[:40] in result.stdout.replace("\n", "")


def test_piped_output_without_columns_uses_80_not_a_fixed_160(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli.output import output_width; print(output_width())"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        timeout=60,
    )
    with_columns = subprocess.run(
        [sys.executable, "-c", "from cli.output import output_width; print(output_width())"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "COLUMNS": "132"},
        cwd=tmp_path,
        timeout=60,
    )

    assert (done.stdout, with_columns.stdout) == ("80\n", "132\n")


@pytest.mark.parametrize("columns", ["80", "200"])
def test_markup_from_the_pipeline_is_printed_literally(invoke, deployed: Stack, columns: str) -> None:
    deployed.put_error(
        "e-markup",
        failed_at=datetime.now(UTC) - timedelta(minutes=1),
        message=MARKUP_MESSAGE,
        source=MARKUP_SOURCE,
        body='{"name": "[/x]"}',
    )

    tail = invoke("errors", "tail", env={"COLUMNS": columns})
    show = invoke("errors", "show", "e-markup", env={"COLUMNS": columns})
    dry = invoke("replay-dlq", "--dry-run", "--since", "1h", env={"COLUMNS": columns})

    for result in (tail, show, dry):
        assert result.exit_code == 0, result.stderr
    flat = " ".join(tail.stdout.split())
    assert MARKUP_MESSAGE in flat.replace("│ │", "") or all(part in flat for part in MARKUP_MESSAGE.split())
    assert MARKUP_SOURCE in " ".join(show.stdout.split()) and "[/x]" in show.stdout
    assert '"name": "[/x]"' in show.stdout
    assert "[red]" in dry.stdout


def test_follow_prints_markup_literally(invoke, deployed: Stack) -> None:
    import _thread
    import threading

    def arrive_then_interrupt() -> None:
        deployed.put_error(
            "e-live", failed_at=datetime.now(UTC), message=MARKUP_MESSAGE, source=MARKUP_SOURCE
        )
        threading.Timer(0.6, _thread.interrupt_main).start()

    threading.Timer(0.3, arrive_then_interrupt).start()
    result = invoke("errors", "tail", "--follow", "--interval", "0.1")

    assert result.exit_code == 0, result.stderr
    assert MARKUP_MESSAGE in result.stdout and MARKUP_SOURCE in result.stdout


def test_a_real_80_column_terminal_gets_records_not_a_crushed_table(local: Stack, tmp_path: Path) -> None:
    local.put_error(ERROR_ID, failed_at=datetime.now(UTC), message=MESSAGE, source=SOURCE)

    run = run_in_pty(["errors", "tail"], cwd=tmp_path, columns=80)

    assert run.returncode == 0, run.output
    lines = re.sub(r"\x1b\[[0-9;]*m", "", run.output).rstrip("\n").split("\n")
    assert max(len(line) for line in lines) <= 80, run.output
    assert f"error id   {ERROR_ID}" in lines
    assert "┃" not in run.output  # no table at 80 columns for six columns of this size
    assert "email: not an email address" in run.output


def test_json_is_unaffected_by_width(invoke, long_error: dict) -> None:
    result = invoke("errors", "tail", "--json", env={"COLUMNS": "40"})

    assert json.loads(result.stdout)["error_message"] == MESSAGE


@pytest.mark.parametrize(("columns", "blocks"), [("80", True), ("250", False)])
def test_follow_streams_lines_or_blocks_by_width(invoke, deployed: Stack, columns: str, blocks: bool) -> None:
    import _thread
    import threading

    def arrive_then_interrupt() -> None:
        deployed.put_error(ERROR_ID, failed_at=datetime.now(UTC), message=MESSAGE, source=SOURCE)
        threading.Timer(0.6, _thread.interrupt_main).start()

    threading.Timer(0.3, arrive_then_interrupt).start()
    result = invoke("errors", "tail", "--follow", "--interval", "0.1", env={"COLUMNS": columns})

    lines = lines_of(result.stdout)
    assert max(len(line) for line in lines) <= int(columns)
    if blocks:
        assert f"error id   {ERROR_ID}" in lines and f"message    {MESSAGE}" in lines
    else:
        assert len(lines) == 1 and lines[0].endswith(f"{MESSAGE}  {SOURCE}  NEW  {ERROR_ID}")
