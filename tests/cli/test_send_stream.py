"""``pipeline-ctl send -`` reads stdin as a stream: records leave while the writer is still writing, a bad
record part way stops the send there with the command that resumes it, and memory stays bounded."""

from __future__ import annotations

import json
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.send import SendOptions, send
from ops.target import resolve_target
from tests.support.cli import Stack, write_local_document
from tests.support.http_servers import Received, ScriptedGateway, serve
from tests.support.processes import cli_env, pipeline_ctl, wait_for

RECORD = {"name": "N", "email": "n@example.com", "balance": "1", "currency": "EUR"}


def line(number: int) -> str:
    return json.dumps({**RECORD, "account_id": f"a-{number}"}) + "\n"


def received_ids(gateway: ScriptedGateway) -> list[str]:
    with gateway.lock:
        bodies = [json.loads(request.body) for request in gateway.requests]
    return [
        record["account_id"] for body in bodies for record in (body if isinstance(body, list) else [body])
    ]


@pytest.fixture
def api(local: Stack, tmp_path: Path) -> Iterator[ScriptedGateway]:
    """The local stack's outputs, with POST /writer answered 200 by a server that keeps what it got."""
    with serve(ScriptedGateway(statuses=(200,))) as gateway:
        outputs = {**local.outputs, "api_url": gateway.url}
        write_local_document(tmp_path, outputs)
        yield gateway


def start_send(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        pipeline_ctl("send", "-", *args),
        cwd=tmp_path,
        env=cli_env(COLUMNS="200"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_records_from_a_pipe_arrive_before_the_writer_closes_it(api: ScriptedGateway, tmp_path: Path) -> None:
    # GIVEN a send reading a pipe that a writer keeps open
    sender = start_send(tmp_path)
    assert sender.stdin is not None
    sender.stdin.writelines(line(n) for n in range(5))
    sender.stdin.flush()
    # THEN the records arrive at the API while the pipe is still open (batched, sent after a short linger)
    wait_for(lambda: len(received_ids(api)) == 5, timeout=20, what="5 records at the API")
    assert sender.poll() is None
    sender.stdin.writelines(line(n) for n in range(5, 8))
    sender.stdin.flush()
    wait_for(lambda: len(received_ids(api)) == 8, timeout=20, what="8 records at the API")
    # WHEN the writer closes the pipe, the send ends and counts every record once
    out, err = sender.communicate(timeout=30)
    assert sender.returncode == 0, err
    assert out.startswith("sent 8 records in ")
    assert received_ids(api) == [f"a-{n}" for n in range(8)]


def test_a_bad_record_part_way_stops_there_and_says_how_to_resume(
    api: ScriptedGateway, tmp_path: Path
) -> None:
    sender = start_send(tmp_path, "--concurrency", "2")
    good = "".join(line(n) for n in range(3))

    out, err = sender.communicate(good + '{"account_id": oops}\n' + line(4), timeout=30)

    assert sender.returncode == 2, err
    assert out == ""
    assert err == (
        "Error: <stdin>:4: not valid JSON: Expecting value (column 16); the 3 records before it were sent "
        "(3 accepted) (fix the input, then resume with: pipeline-ctl send - --concurrency 2 --skip 3 "
        "(with the same input on stdin))\n"
    )
    assert received_ids(api) == ["a-0", "a-1", "a-2"]


def test_skip_passes_over_the_first_records(api: ScriptedGateway, tmp_path: Path) -> None:
    sender = start_send(tmp_path, "--skip", "2")

    out, err = sender.communicate("".join(line(n) for n in range(5)), timeout=30)

    assert sender.returncode == 0, err
    assert out == "sent 3 records in 1 request: 3 queued, 0 rejected (skipped the first 2 records)\n"
    assert received_ids(api) == ["a-2", "a-3", "a-4"]


class _Tally(list[Received]):
    """Stands in for a gateway's request list: counts the records, keeps no body (this test measures the
    process's memory, the server's included)."""

    records = 0

    def append(self, received: Received) -> None:
        self.records += len(json.loads(received.body))


def test_memory_stays_bounded_on_a_long_input(local: Stack, tmp_path: Path) -> None:
    # GIVEN 40,000 records (~11 MB of JSON, ~23 MB as Python objects) that exist only as they are read
    count = 40_000

    def endless() -> Iterator[dict[str, str]]:
        for number in range(count):
            yield {**RECORD, "account_id": f"a-{number}", "pad": f"{number:0>200}"}

    with serve(ScriptedGateway(statuses=(200,))) as gateway:
        gateway.requests = tally = _Tally()
        outputs = {**local.outputs, "api_url": gateway.url}
        write_local_document(tmp_path, outputs)
        # WHEN they are sent
        tracemalloc.start()
        try:
            report = send(resolve_target(), endless(), options=SendOptions(concurrency=2))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # THEN every record went, and the peak held a bounded window of them (the read-ahead queue, a batch,
    # the requests in flight), not the input
    assert report.accepted == tally.records == count
    assert peak < 6 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
