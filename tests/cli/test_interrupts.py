"""Ctrl-C (SIGINT to a real process) during `send` and `upload` says what was done and what was not (exit
130), and `upload --wait` at a real terminal (a pseudo-terminal) shows its progress live."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Stack, write_local_document
from tests.support.processes import Terminal, cli_env, spawn, wait_for

RECORD = {"account_id": "a-1", "name": "N", "email": "n@example.com", "balance": "1", "currency": "EUR"}


class SlowApi(ThreadingHTTPServer):
    """POST /writer answered 200 after a pause, counting the requests it answered."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.answered = 0
        self.ids: set[str] = set()
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(handler) -> None:
                body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
                time.sleep(self.delay)
                with self.lock:
                    self.answered += 1
                    self.ids.add(json.loads(body)["account_id"])
                handler.send_response(200)
                handler.send_header("Content-Length", "2")
                handler.end_headers()
                handler.wfile.write(b"{}")

            def log_message(handler, format: str, *args: Any) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def slow_api(local: Stack, tmp_path: Path) -> Iterator[SlowApi]:
    server = SlowApi(delay=0.02)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    outputs = {**local.outputs, "api_url": f"http://127.0.0.1:{server.server_address[1]}"}
    write_local_document(tmp_path, outputs)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def interrupt(process: Any) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    return process.returncode, stdout, stderr


TOTAL = 600


def test_ctrl_c_during_send_says_what_was_sent_and_how_to_resume(slow_api: SlowApi, tmp_path: Path) -> None:
    lines = [json.dumps({**RECORD, "account_id": f"a-{n}"}) for n in range(TOTAL)]
    (tmp_path / "many.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    sender = spawn("send", "many.jsonl", "--batch", "1", "--concurrency", "2", cwd=tmp_path)
    wait_for(lambda: slow_api.answered >= 20, what="20 requests answered")

    code, stdout, stderr = interrupt(sender)

    sent = slow_api.answered  # every request on the wire was answered before the process reported
    assert 20 <= sent < TOTAL
    assert (code, stdout) == (130, "")
    command = r"(pipeline-ctl send many\.jsonl --batch 1 --concurrency 2 --skip (\d+))"
    counts = rf"{sent} of {TOTAL} records sent \({sent} accepted, 0 rejected\); {TOTAL - sent} not sent"
    resume = re.fullmatch(
        rf"Error: interrupted: {counts} \(resume with: {command}; accepted records are processed anyway\)\n",
        stderr,
    )
    assert resume, stderr
    skip = int(resume.group(2))
    assert sent - 4 <= skip <= sent  # requests end out of order: at most the ones in flight are sent twice

    # WHEN the printed command is run, THEN the rest is sent: with the first run, every record at least once
    slow_api.delay = 0
    rest = spawn(*resume.group(1).split()[1:], cwd=tmp_path, env=cli_env(COLUMNS="200"))
    out, err = rest.communicate(timeout=120)
    assert rest.returncode == 0, err
    rest_count = TOTAL - skip
    assert out == (
        f"sent {rest_count} records in {rest_count} requests: {rest_count} queued, 0 rejected "
        f"(skipped the first {skip} records)\n"
    )
    assert slow_api.ids == {f"a-{n}" for n in range(TOTAL)}


def test_ctrl_c_during_upload_lists_what_was_uploaded(local: Stack, tmp_path: Path) -> None:
    names = [f"f{n:03}.json" for n in range(300)]
    for name in names:
        (tmp_path / name).write_text(json.dumps([RECORD]), encoding="utf-8")
    s3, bucket = local.client("s3"), local.outputs["data_bucket"]
    uploader = spawn("upload", *names, cwd=tmp_path, env=cli_env(COLUMNS="200"))
    wait_for(lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) >= 5, what="5 objects")

    code, stdout, stderr = interrupt(uploader)

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert 5 <= len(keys) < 300 and keys == names[: len(keys)]
    assert code == 130
    rest = names[len(keys) :]
    assert stderr == (
        f"Error: interrupted: {len(keys)} of 300 files uploaded; not uploaded: {', '.join(rest[:3])} "
        f"and {len(rest) - 3} more (uploaded files are processed anyway; upload the others again)\n"
    )
    assert stdout.startswith("uploaded\n")
    rows = [line for line in stdout.splitlines() if f"s3://{bucket}/" in line]
    assert [row.split("│")[1].strip() for row in rows] == keys


def test_ctrl_c_while_waiting_prints_what_was_seen(local: Stack, tmp_path: Path) -> None:
    """No pipeline runs behind this emulator: the wait could only end by timeout; Ctrl-C ends it first."""
    (tmp_path / "accounts.json").write_text(json.dumps([RECORD] * 4), encoding="utf-8")
    s3, bucket = local.client("s3"), local.outputs["data_bucket"]
    waiter = spawn("upload", "accounts.json", "--wait", cwd=tmp_path, env=cli_env(COLUMNS="100"))
    wait_for(lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0), what="the upload")
    time.sleep(1.5)  # into the wait's polling

    code, stdout, stderr = interrupt(waiter)

    assert code == 130
    assert stdout.index("uploaded") < stdout.index("processed (interrupted after")
    row = next(line for line in stdout.splitlines()[stdout.count("\n") // 2 :] if "accounts.json" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][1:] == ["0/4", "0", "0", "0", "waiting"]
    assert stderr == (
        "Error: interrupted while waiting: 0 of 4 records accounted for so far "
        "(the files are uploaded and the pipeline goes on processing them: "
        "see `pipeline-ctl status` and `pipeline-ctl errors tail`)\n"
    )


def test_wait_is_live_on_a_terminal_and_prints_what_was_seen_on_timeout(local: Stack, tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text(json.dumps([RECORD] * 4), encoding="utf-8")
    terminal = Terminal("upload", "accounts.json", "--wait", "--timeout", "3", cwd=tmp_path, columns=100)

    terminal.read_until(b"waiting", timeout=30)
    code = terminal.finish()

    text = terminal.text
    assert code == 1
    assert " · 0/4 records accounted for · 0 messages queued · Ctrl-C stops the wait\r\n" in text
    assert "processed (timed out after" in text
    assert "Error: timed out after 3 s: 0 of 4 records accounted for" in text
