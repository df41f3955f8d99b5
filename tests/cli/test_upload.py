"""``pipeline-ctl upload``: suffix rule, keys, multipart, record counting (--wait: test_upload_wait.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

import ops.upload
from ops.target import resolve_target
from ops.upload import count_records, upload
from tests.support.cli import DEPLOYED_STACK, Stack

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
        ('[{"a": 1}, {"a": ', 2),  # a record, and the broken rest the transformer logs
        ("\xff\xfe", 1),  # one unreadable file
        (json.dumps({"records": RECORDS[:2], "note": "x"}), 1),  # not an envelope: one record
        ('{"records": [{"a": 1}], "records": [{"a": 2}]}', 1),  # an ambiguous envelope: one record
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
        "records-and-another-key",
        "duplicated-records",
    ],
)
def test_count_records_counts_what_the_transformer_will_account_for(
    tmp_path: Path, content: str, expected: int
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


@pytest.mark.parametrize("name", ["accounts.JSON", "accounts.txt", "accounts.jsonl"])
def test_other_suffixes_are_refused_and_forced_under_a_key_that_is_read(
    invoke, deployed: Stack, tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_text("[]", encoding="utf-8")

    refused = invoke("upload", name)
    forced = invoke("upload", name, "--force")

    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: {name}: only keys ending in .json trigger the Transformer, so it would never be read "
        f"(rename it to accounts.json (any accepted shape, JSON Lines too), or pass --force to upload it as "
        f"{name}.json)\n"
    )
    assert forced.exit_code == 0, forced.stderr
    bucket = deployed.outputs["data_bucket"]
    assert (
        forced.stderr
        == f"Note: {name} uploaded as s3://{bucket}/{name}.json: only keys ending in .json are read\n"
    )
    assert deployed.client("s3").head_object(Bucket=bucket, Key=f"{name}.json")["ContentLength"] == 2


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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "bad.json: no records (the file is empty) (pass --force to upload it anyway)"),
        ("[]", "bad.json: no records in it (pass --force to upload it anyway)"),
        (
            '[{"a": 1},',
            "bad.json: not valid JSON: the file ends in the middle of a JSON value at end of file (byte 10) "
            "(input is a JSON object, a JSON array, or JSON Lines (one object per line))",
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


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_upload_refuses_what_is_not_a_regular_file(
    invoke, deployed: Stack, tmp_path: Path, kind: str
) -> None:
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.json")
        name, what = "pipe.json", "a FIFO (named pipe)"
    else:
        name, what = "/dev/zero", "a character device"

    results = [invoke("upload", name), invoke("upload", name, "--force")]

    hint = "(write the data to a file, then upload that file)"
    assert [(r.exit_code, r.stderr) for r in results] == [
        (2, f"Error: {name}: not a regular file ({what}) {hint}\n")
    ] * 2
    assert "Contents" not in deployed.client("s3").list_objects_v2(Bucket=deployed.outputs["data_bucket"])
