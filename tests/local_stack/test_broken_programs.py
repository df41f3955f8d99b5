"""Deliberately broken programs fail the rehearsal. Each is the real ``__main__.py`` with one resource's
inputs changed on the way to the emulator (a tampering hook in the engine run), never an edit of infra/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local_stack import rehearsal
from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e

MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"


def _rehearse_broken(tmp_path: Path, tamper: Any) -> list[str]:
    with LocalStack(tmp_path, fresh=True, tamper=tamper, write_outputs=False) as stack:
        return rehearsal.rehearse(stack, timeout=10, failures=False)


def _mapping_pointed_at_the_dlq() -> Any:
    dlq_arn: dict[str, str] = {}

    def tamper(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if typ == "aws:sqs/queue:Queue" and inputs.get("redrivePolicy"):
            dlq_arn["arn"] = json.loads(inputs["redrivePolicy"])["deadLetterTargetArn"]
        if typ == MAPPING and "writer" in name:
            return {**inputs, "eventSourceArn": dlq_arn["arn"]}
        return inputs

    return tamper


def _notification_with_the_wrong_suffix(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    if typ == NOTIFICATION:
        functions = [{**entry, "filterSuffix": ".jsn"} for entry in inputs["lambdaFunctions"]]
        return {**inputs, "lambdaFunctions": functions}
    return inputs


def test_each_broken_program_fails_the_rehearsal_naming_its_fault(tmp_path: Path) -> None:
    """One test for both variants: the second apply in a process reuses the first's warm engine (imports,
    service models), where two tests could land on two workers and pay the cold start twice."""
    problems = _rehearse_broken(tmp_path / "mapping", _mapping_pointed_at_the_dlq())
    assert any(
        problem.startswith("writer_queue_url: no enabled event source mapping") for problem in problems
    ), problems

    problems = _rehearse_broken(tmp_path / "suffix", _notification_with_the_wrong_suffix)
    assert any("upload" in problem and "not in AccountTable" in problem for problem in problems), problems
