"""``cli.errors``: the one place where a failure becomes an exit code and one line on stderr."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from cli.errors import CommandFailed, error_line, failure_of
from ops.errors import InvalidInput, NotFound, OperationError


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (InvalidInput("f.json: no such file"), "Error: f.json: no such file", 2),
        (OperationError("timed out", hint="see status"), "Error: timed out (see status)", 1),
        (NotFound("no error x in t"), "Error: no error x in t", 1),
        (CommandFailed("2 of 3 could not be replayed"), "Error: 2 of 3 could not be replayed", 1),
        (NoRegionError(), "Error: no AWS region configured (pass --region or set AWS_REGION)", 2),
        (
            ProfileNotFound(profile="nobody"),
            "Error: The config profile (nobody) could not be found "
            "(check --profile / AWS_PROFILE against ~/.aws/config)",
            2,
        ),
        (NoCredentialsError(), "Error: no AWS credentials found (set AWS_PROFILE or", 1),
        (
            EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            "Error: the local stack does not answer at http://127.0.0.1:9 (is `pipeline-ctl local up` still",
            1,
        ),
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no\nway"}}, "GetParameter"),
            "Error: GetParameter failed: AccessDenied: no way",
            1,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_expected_failures_become_one_line_and_a_code(error: BaseException, line: str, code: int) -> None:
    failure = failure_of(error)

    assert failure is not None
    assert failure.line().startswith(line) and "\n" not in failure.line()
    assert failure.exit_code == code


def test_a_bug_keeps_its_traceback() -> None:
    assert failure_of(KeyError("x")) is None


def test_error_line_folds_whitespace() -> None:
    assert error_line("a\n  b", "c\nd") == "Error: a b (c d)"
