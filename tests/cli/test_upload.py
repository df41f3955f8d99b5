"""``pipeline-ctl upload``: suffix rule, keys, multipart, and --wait's accounting of the records."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

import ops.upload
from ops.errors import OperationError
from ops.target import resolve_target
from ops.upload import count_records, upload, wait_processed
from tests.support.cli import DEPLOYED_STACK, Stack, iso

RECORDS = [
    {"account_id": f"a-{n}", "name": "N", "email": "n@example.com", "balance": "1", "currency": "EUR"}
    for n in range(4)
]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.dumps(RECORDS), 4),
        (json.dumps(RECORDS[0]), 1),
        (json.dumps({"source": "x", "records": RECORDS[:3]}), 3),
        ("\n".join(json.dumps(r) for r in RECORDS), 4),
        (json.dumps({"source": "x", "records": RECORDS[:2]}) + "\n" + json.dumps(RECORDS[0]), 3),
        ("[1, {}, []]", 3),
        ("[]", 0),
        ('[{"a": 1}, {"a": ', None),
        ("\xff\xfe", None),
    ],
    ids=[
        "array",
        "object",
        "envelope",
        "jsonl",
        "jsonl-envelope",
        "mixed-items",
        "empty",
        "truncated",
        "not-utf8",
    ],
)
def test_count_records_streams_every_accepted_shape(
    tmp_path: Path, content: str, expected: int | None
) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())

    assert count_records(path) == expected


def test_upload_puts_files_under_the_prefix(invoke, deployed: Stack, tmp_path: Path) -> None:
    (tmp_path / "accounts.json").write_text(json.dumps(RECORDS), encoding="utf-8")
    (tmp_path / "more.json").write_text(json.dumps(RECORDS[0]), encoding="utf-8")

    result = invoke("upload", "accounts.json", "more.json", "--prefix", "/incoming/2026/", "--json")

    assert result.exit_code == 0, result.stderr
    uploaded = json.loads(result.stdout)["uploaded"]
    bucket = deployed.outputs["data_bucket"]
    assert [(u["key"], u["records"], u["uri"]) for u in uploaded] == [
        ("incoming/2026/accounts.json", 4, f"s3://{bucket}/incoming/2026/accounts.json"),
        ("incoming/2026/more.json", 1, f"s3://{bucket}/incoming/2026/more.json"),
    ]
    body = deployed.client("s3").get_object(Bucket=bucket, Key="incoming/2026/accounts.json")["Body"].read()
    assert json.loads(body) == RECORDS


@pytest.mark.parametrize("name", ["accounts.JSON", "accounts.txt"])
def test_other_suffixes_are_refused_unless_forced(invoke, deployed: Stack, tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("[]", encoding="utf-8")

    refused = invoke("upload", name)
    forced = invoke("upload", name, "--force")

    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: {name}: only *.json keys are processed (the S3 filter is case-sensitive) "
        "(rename the file, or pass --force to upload it anyway)\n"
    )
    assert forced.exit_code == 0, forced.stderr
    assert (
        deployed.client("s3").head_object(Bucket=deployed.outputs["data_bucket"], Key=name)["ContentLength"]
        == 2
    )


def test_missing_file_is_a_usage_error(invoke, deployed: Stack) -> None:
    result = invoke("upload", "nope.json")

    assert (result.exit_code, result.stderr) == (2, "Error: nope.json: no such file\n")


def test_large_files_go_multipart(deployed: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    five_mib = 5 * 1024 * 1024  # S3's smallest part size
    monkeypatch.setattr(
        ops.upload, "TRANSFER", TransferConfig(multipart_threshold=five_mib, multipart_chunksize=five_mib)
    )
    path = tmp_path / "big.json"
    line = json.dumps(RECORDS[0]) + "\n"
    path.write_text(line * (five_mib // len(line) + 1000), encoding="utf-8")
    seen: list[int] = []

    [uploaded] = upload(resolve_target(DEPLOYED_STACK), [path], on_bytes=seen.append)

    head = deployed.client("s3").head_object(Bucket=deployed.outputs["data_bucket"], Key="big.json")
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert sum(seen) == path.stat().st_size == head["ContentLength"]
    assert uploaded.records == five_mib // len(line) + 1000


class FakePipelineOutcome:
    """Writes what the real pipeline would leave behind for an uploaded file: AccountTable items whose source
    is the file, and LogTable items for rejected records (the handlers are not under test here)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def write(self, uri: str, account_ids: list[str]) -> None:
        for account_id in account_ids:
            self.stack.client("dynamodb").put_item(
                TableName=self.stack.outputs["account_table"],
                Item={
                    "account_id": {"S": account_id},
                    "source": {"S": uri},
                    "ingested_at": {"S": iso(datetime.now(UTC))},
                },
            )

    def log(self, uri: str, error_id: str, body: str, error_type: str = "InvalidRecord") -> None:
        self.stack.put_error(
            error_id, failed_at=datetime.now(UTC), source=uri, body=body, error_type=error_type
        )


def test_wait_ends_when_every_record_is_accounted_for(deployed: Stack, tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    target = resolve_target(DEPLOYED_STACK)
    [uploaded] = upload(target, [path])
    outcome = FakePipelineOutcome(deployed)
    polls: list[int] = []

    def progress(report) -> None:
        polls.append(len(polls))
        if len(polls) == 2:
            outcome.write(uploaded.uri, ["a-0", "a-1", "a-2"])
            outcome.log(uploaded.uri, "e-1", json.dumps(RECORDS[3]))

    report = wait_processed(target, [uploaded], timeout=10, poll=0.05, settle=5, on_poll=progress)

    [file] = report.files
    assert (file.records, file.written, file.logged, file.stale_or_superseded, file.done) == (
        4,
        3,
        1,
        0,
        True,
    )
    assert report.settled is False


def test_wait_reports_the_unseen_remainder_as_stale_once_settled(deployed: Stack, tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    target = resolve_target(DEPLOYED_STACK)
    [uploaded] = upload(target, [path])
    FakePipelineOutcome(deployed).write(uploaded.uri, ["a-0", "a-1"])
    # An item from an earlier upload of the same key does not count: it was ingested before this upload.
    deployed.client("dynamodb").put_item(
        TableName=deployed.outputs["account_table"],
        Item={
            "account_id": {"S": "a-3"},
            "source": {"S": uploaded.uri},
            "ingested_at": {"S": "2020-01-01T00:00:00Z"},
        },
    )

    report = wait_processed(target, [uploaded], timeout=10, poll=0.05, settle=0.2)

    [file] = report.files
    assert (file.written, file.logged, file.stale_or_superseded, report.settled) == (2, 0, 2, True)


def test_wait_counts_a_redriven_envelope_and_an_unreadable_file(deployed: Stack, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(RECORDS), encoding="utf-8")
    bad.write_text("[{", encoding="utf-8")
    target = resolve_target(DEPLOYED_STACK)
    uploaded = upload(target, [good, bad], force=True)  # bad.json is refused without --force
    outcome = FakePipelineOutcome(deployed)
    outcome.write(uploaded[0].uri, ["a-0"])
    envelope = json.dumps({"source": uploaded[0].uri, "records": RECORDS[1:]})
    deployed.put_error(
        "redriven", failed_at=datetime.now(UTC), error_type="RetriesExhausted", source="", body=envelope
    )
    outcome.log(uploaded[1].uri, "unreadable", "", error_type="UnreadableFile")

    report = wait_processed(target, uploaded, timeout=10, poll=0.05, settle=5)

    assert [(f.written, f.logged, f.unreadable, f.done) for f in report.files] == [
        (1, 3, False, True),
        (0, 1, True, True),
    ]


def test_wait_without_any_activity_times_out(deployed: Stack, tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    target = resolve_target(DEPLOYED_STACK)

    with pytest.raises(OperationError, match=r"timed out after 0.3 s: 0 of 4 records accounted for"):
        wait_processed(target, upload(target, [path]), timeout=0.3, poll=0.05, settle=0.1)


def test_cli_wait_on_the_local_stack(invoke, local: Stack, tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    uri = f"s3://{local.outputs['data_bucket']}/accounts.json"
    outcome = FakePipelineOutcome(local)

    def pipeline() -> None:
        s3 = local.client("s3")
        for _ in range(100):
            if s3.list_objects_v2(Bucket=local.outputs["data_bucket"]).get("KeyCount"):
                outcome.write(uri, ["a-0", "a-1", "a-2", "a-3"])
                return
            threading.Event().wait(0.05)

    worker = threading.Thread(target=pipeline)
    worker.start()
    result = invoke("upload", "accounts.json", "--wait", "--timeout", "20")
    worker.join()

    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if uri in line and "done" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == [uri, "4", "4", "0", "0", "done"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "bad.json: no records (the file is empty) (pass --force to upload it anyway)"),
        ("[]", "bad.json: no records in it (pass --force to upload it anyway)"),
        (
            '[{"a": 1},',
            "bad.json: not valid JSON: parse error: premature EOF (input is a JSON object, a JSON array, "
            "or JSON Lines (one object per line))",
        ),
    ],
    ids=["empty", "no-records", "not-json"],
)
def test_send_and_upload_refuse_a_bad_file_alike(
    invoke, deployed: Stack, tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "bad.json").write_text(content, encoding="utf-8")

    refused = invoke("upload", "bad.json")
    sent = invoke("send", "bad.json")
    forced = invoke("upload", "bad.json", "--force", "--json")

    assert (refused.exit_code, refused.stderr) == (2, f"Error: {message}\n")
    assert sent.exit_code == 2 and sent.stderr.count("\n") == 1
    assert sent.stderr.startswith(f"Error: {message.split(':')[0]}:")
    assert forced.exit_code == 0, forced.stderr
    bucket = deployed.outputs["data_bucket"]
    assert deployed.client("s3").get_object(Bucket=bucket, Key="bad.json")["Body"].read() == content.encode()


def test_a_directory_is_refused_by_both_even_with_force(invoke, deployed: Stack, tmp_path: Path) -> None:
    (tmp_path / "data.json").mkdir()

    results = [
        invoke("upload", "data.json"),
        invoke("upload", "data.json", "--force"),
        invoke("send", "data.json"),
    ]

    hint = "(give the data files inside it, e.g. dir/*.json)"
    assert [(r.exit_code, r.stderr) for r in results] == [
        (2, f"Error: data.json: is a directory {hint}\n")
    ] * 3
    assert "Contents" not in deployed.client("s3").list_objects_v2(Bucket=deployed.outputs["data_bucket"])
