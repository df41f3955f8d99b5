"""`status` points at the dashboard; `status --watch` draws depths, throughput and a trend per queue, from
real status reports of a moto-backed stack sampled with a fake clock, and live at a pseudo-terminal."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from cli.output import Output
from cli.watch import frame, run_watch
from ops.status import status
from ops.target import resolve_target
from ops.watch import ProcessedFeed, Watch, sparkline
from tests.support.cli import DEPLOYED_STACK, Stack, ctrl_c_after
from tests.support.processes import Terminal

DASHBOARD = (
    "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
    "#dashboards/dashboard/serverless-pipeline-test"
)


def writer_line(at: datetime, *, written: int, stale: int = 0) -> dict[str, object]:
    """A `message processed` log event as the writer's Powertools logger prints it (fields as in its log)."""
    message = {
        "level": "INFO",
        "message": "message processed",
        "timestamp": at.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3] + "+0000",
        "service": "writer",
        "message_id": f"m-{at.timestamp()}",
        "source": "api",
        "written": written,
        "stale": stale,
        "invalid": 0,
        "failed": 0,
    }
    return {"timestamp": int(at.timestamp() * 1000), "message": json.dumps(message)}


def test_deployed_status_shows_the_dashboard_url(invoke, deployed: Stack) -> None:
    human = invoke("status", env={"COLUMNS": "80"})
    machine = invoke("status", "--json")

    assert human.exit_code == 0, human.stderr
    assert f"dashboard: {DASHBOARD}" in human.stdout.splitlines()
    assert json.loads(machine.stdout)["dashboard_url"] == DASHBOARD


def test_local_status_has_no_dashboard(invoke, local: Stack) -> None:
    result = invoke("status", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["dashboard_url"] is None


def fixed_clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def test_watch_frame_from_real_reports_and_a_fake_clock(deployed: Stack) -> None:
    target = resolve_target(DEPLOYED_STACK)
    logs, group = deployed.client("logs"), f"/aws/lambda/{deployed.outputs['writer_function']}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    sqs, queue = deployed.client("sqs"), deployed.outputs["writer_queue_url"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    watch, feed = Watch(), ProcessedFeed(target, start=start)
    # (messages queued before the sample, records the writer processed in the 10 s before it)
    for step, (queued, processed) in enumerate([(0, 0), (4, 30), (8, 50), (2, 20)]):
        at = start + timedelta(seconds=10 * step)
        for _ in range(queued):
            sqs.send_message(QueueUrl=queue, MessageBody="{}")
        if processed:
            logs.put_log_events(
                logGroupName=group,
                logStreamName="s",
                logEvents=[writer_line(at - timedelta(seconds=5), written=processed - 2, stale=2)],
            )
        watch.add(at, status(target, clock=fixed_clock(at)), feed.since_last(at))
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    screen = Console(file=io.StringIO(), width=80, record=True, color_system=None)
    screen.print(frame(watch, interval=10))
    text = screen.export_text()

    assert [sample.processed["writer_queue"] for sample in watch.samples] == [0, 30, 50, 20]
    assert watch.depths("writer_queue") == [0, 4, 8, 2]
    assert sparkline(watch.depths("writer_queue")) == "▁▅█▃"
    row = next(line for line in text.splitlines() if line.startswith("WriterQueue"))
    assert row.split() == ["WriterQueue", "2", "0", "n/a", "3.3", "records/s", "▁▅█▃"]
    assert (
        text.splitlines()[0]
        == f"stack test · {start + timedelta(seconds=30):%H:%M:%S} UTC · every 10 s · Ctrl-C to stop"
    )
    assert f"dashboard: {DASHBOARD}" in text.replace("\n", "")
    assert max(len(line) for line in text.splitlines()) <= 80


def test_watch_piped_prints_one_line_per_sample(deployed: Stack, capsys) -> None:
    target = resolve_target(DEPLOYED_STACK)
    deployed.client("sqs").send_message(QueueUrl=deployed.outputs["dlq_url"], MessageBody="{}")

    run_watch(Output(), target, interval=0, samples=2)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1].split("  ")[1:] == ["WriterQueue 0+0 0.0/s", "DLQ 1+0 0.0/s"]


def test_watch_is_live_at_a_terminal_until_ctrl_c(local: Stack, tmp_path: Path) -> None:
    terminal = Terminal("status", "--watch", "--interval", "0.3", cwd=tmp_path, columns=80)
    code = ctrl_c_after(terminal, lambda: terminal.read_until(b"records/s", timeout=30))

    assert code == 0
    assert "WriterQueue" in terminal.text and "DLQ" in terminal.text
    assert "Traceback" not in terminal.text
