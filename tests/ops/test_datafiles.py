"""The one rule for data files (``ops.datafiles``, ``ops.upload.check_files``) and the streaming count."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ops.errors import InvalidInput, NotFound, OperationError, OpsError
from ops.send_input import count_records as count_send_records
from ops.upload import check_files, count_records


def test_the_hierarchy_says_whose_failure_it_is() -> None:
    error = NotFound("no stack 'x'", hint="deploy it")

    assert isinstance(error, OperationError) and isinstance(error, OpsError)
    assert not isinstance(InvalidInput("bad"), OperationError)
    assert (str(error), error.message, error.hint) == (
        "no stack 'x' (deploy it)",
        "no stack 'x'",
        "deploy it",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no records (the file is empty)"),
        (" \n\t\n", "no records (the file is empty)"),
        ("[]", "no records in it"),
        ('{"a": ', "not valid JSON"),
    ],
    ids=["empty", "blank", "no-records", "truncated"],
)
def test_send_and_upload_refuse_the_same_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(InvalidInput, match=re.escape(message)):
        check_files([path])
    with pytest.raises(InvalidInput, match=message.split(" (")[0].replace("records in it", "records")):
        count_send_records(str(path))
    assert check_files([path], force=True)[0].size == len(content.encode())


def test_a_directory_and_a_missing_file_are_refused_even_with_force(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is a directory"):
        check_files([tmp_path], force=True)
    with pytest.raises(InvalidInput, match="no such file"):
        check_files([tmp_path / "nope.json"], force=True)
    with pytest.raises(InvalidInput, match="is a directory"):
        count_send_records(str(tmp_path))


def test_check_files_counts_records_once(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"source": "x", "records": [{"a": 1}, {"a": 2}, {"a": 3}]}), encoding="utf-8")

    [checked] = check_files([path])

    assert (checked.path, checked.records, checked.size) == (path, 3, path.stat().st_size)


def test_a_huge_integer_and_deep_nesting_are_counted_not_fatal(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text(
        '[{"account_id": "a", "balance": ' + "9" * 5000 + '}, {"account_id": "b"}]', encoding="utf-8"
    )
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"account_id": "a"}\n' + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")

    assert count_records(huge) == 2  # ijson's C backend used to crash the process here
    assert count_records(deep) == 2
    with pytest.raises(ValueError, match="Exceeds the limit"):
        int("9" * 5000)  # the interpreter's limit is back once the count is done
