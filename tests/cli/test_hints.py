"""Precise hints: which endpoint does not answer, and `errors show` with a shortened id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import EndpointConnectionError

from cli.errors import failure_of
from tests.support.cli import Stack


def test_a_deployed_endpoint_that_does_not_answer_names_it_and_suggests_the_network() -> None:
    failure = failure_of(EndpointConnectionError(endpoint_url="https://ssm.eu-west-1.amazonaws.com/"))

    assert failure is not None
    assert (failure.line(), failure.exit_code) == (
        "Error: cannot reach https://ssm.eu-west-1.amazonaws.com/ "
        "(no network connection? check it, any proxy (HTTPS_PROXY) and --region)",
        1,
    )


def test_a_unique_prefix_shows_the_error(invoke, deployed: Stack) -> None:
    now = datetime.now(UTC)
    deployed.put_error("0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11", failed_at=now)
    deployed.put_error("0f6b9999-0000-4a57-9d0e-2f1c7d0b9a11", failed_at=now - timedelta(minutes=1))
    deployed.put_error("a1b2c3d4-0000-4a57-9d0e-2f1c7d0b9a11", failed_at=now)

    result = invoke("errors", "show", "0f6b3c", "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["error_id"] == "0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11"


def test_an_ambiguous_prefix_lists_the_candidates(invoke, deployed: Stack) -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    deployed.put_error("0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11", failed_at=now)
    deployed.put_error("0f6b9999-0000-4a57-9d0e-2f1c7d0b9a11", failed_at=now - timedelta(minutes=1))

    result = invoke("errors", "show", "0f6b")

    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: '0f6b' matches 2 errors: "
        "0f6b9999-0000-4a57-9d0e-2f1c7d0b9a11 (InvalidRecord, 2026-12-06T11:59:00.000000Z), "
        "0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11 (InvalidRecord, 2026-12-06T12:00:00.000000Z) "
        "(give more of the id)\n"
    )


def test_a_prefix_that_matches_nothing_or_is_too_short_is_not_found(invoke, deployed: Stack) -> None:
    deployed.put_error("0f6b3c1e-3c5d-4a57-9d0e-2f1c7d0b9a11", failed_at=datetime.now(UTC))
    table = deployed.outputs["log_table"]

    unknown = invoke("errors", "show", "ffff")
    short = invoke("errors", "show", "0f6")

    assert (unknown.exit_code, unknown.stderr) == (
        1,
        f"Error: no error ffff in {table} (list recent ones with `pipeline-ctl errors tail`)\n",
    )
    assert (short.exit_code, short.stderr) == (
        1,
        f"Error: no error 0f6 in {table} (list recent ones with `pipeline-ctl errors tail`)\n",
    )


def test_an_error_line_folds_at_word_boundaries_on_a_terminal_and_stays_one_line_piped(
    invoke, tmp_path: Path
) -> None:
    from tests.support.cli import run_in_pty

    (tmp_path / "accounts-of-november.jsonl").write_text("{}\n", encoding="utf-8")

    shown = run_in_pty(["upload", "accounts-of-november.jsonl"], cwd=tmp_path, columns=80)
    piped = invoke("upload", str(tmp_path / "accounts-of-november.jsonl"))

    lines = shown.output.rstrip("\n").split("\n")
    assert shown.returncode == 2
    assert len(lines) > 1 and max(len(line) for line in lines) <= 80
    words = " ".join(lines).split()
    assert words == piped.stderr.replace(str(tmp_path) + "/", "").split()  # no word was cut in two
    assert piped.stderr.count("\n") == 1
