"""Target resolution and the one-line errors every command shares."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from infra.spec import OUTPUT_KEYS
from ops import local_registry
from ops.errors import OperationError
from ops.target import resolve_target, start_hint, validate_outputs
from tests.support.cli import DEPLOYED_STACK, REGION, Stack, write_local_document


def test_missing_local_stack_is_one_line_and_exit_1(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("status")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: no local stack of yours is running ({start_hint()})\n"


def test_a_registered_document_that_is_not_json_is_not_used(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_local_document(tmp_path, {})
    path.write_text("{not json", encoding="utf-8")
    local_registry.register(tmp_path)

    result = invoke("status")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no local stack of yours is running")
    assert result.stderr.count("\n") == 1


def test_incomplete_outputs_document_lists_the_missing_keys(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    document = {key: "x" for key in OUTPUT_KEYS if key not in ("dlq_url", "log_table")}
    write_local_document(tmp_path, document)
    local_registry.register(tmp_path)

    result = invoke("errors", "tail")

    assert result.exit_code == 1
    assert "lacks dlq_url, log_table, endpoint_url" in result.stderr


def test_optional_outputs_may_be_absent_but_not_empty() -> None:
    """A document written before alarm_topic_arn existed is still read; an empty value is refused."""
    document = {key: "x" for key in OUTPUT_KEYS}
    assert validate_outputs(document, stack="prod", where="SSM") == document
    with pytest.raises(OperationError, match="lacks alarm_topic_arn"):
        validate_outputs({**document, "alarm_topic_arn": ""}, stack="prod", where="SSM")


def test_local_target_uses_the_documents_endpoint_and_region(local: Stack) -> None:
    target = resolve_target()

    assert target.stack == "local"
    assert target.endpoint_url == local.endpoint_url
    assert target.region == REGION
    assert target.outputs == {**local.outputs, "pid": str(os.getpid())}
    assert target.client("sqs").get_queue_url(QueueName=local.outputs["dlq_url"].rsplit("/", 1)[1])


def test_local_target_never_uses_the_operators_credentials(local: Stack, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "expired-sso-profile")  # not even read for the local stack

    target = resolve_target("local")

    assert target.session.get_credentials().access_key == "local"
    assert target.client("dynamodb").describe_table(TableName=local.outputs["log_table"])


def test_stopped_local_stack_is_reported_as_unreachable(invoke, local: Stack, tmp_path: Path) -> None:
    write_local_document(tmp_path, {**local.outputs, "endpoint_url": "http://127.0.0.1:9"})

    result = invoke("errors", "show", "some-id")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the local stack does not answer at http://127.0.0.1:9/")
    assert result.stderr.endswith(
        "(is `pipeline-ctl local up` still running? see `pipeline-ctl local status`)\n"
    )


def test_deployed_target_reads_the_ssm_parameter(deployed: Stack) -> None:
    target = resolve_target(DEPLOYED_STACK)

    assert target.outputs == deployed.outputs
    assert target.endpoint_url is None
    assert target.session.region_name == REGION


def test_unknown_deployed_stack_without_pulumi(invoke, deployed: Stack, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` to fall back on

    result = invoke("--stack", "prod", "status")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no stack 'prod': SSM parameter /serverless-pipeline/prod/outputs not found in us-east-1 "
        "(check --stack, --region and --profile, or deploy it with `pulumi up`)\n"
    )


def test_pulumi_stack_output_is_the_fallback(deployed: Stack, monkeypatch, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    document = {**deployed.outputs, "stack": "staging"}
    (tmp_path / "outputs.json").write_text(json.dumps(document), encoding="utf-8")
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(
        '#!/bin/sh\n[ "$*" = "stack output --json --stack staging" ] && '
        f"exec cat {tmp_path / 'outputs.json'}\n"
        'echo "error: no stack named $6" >&2\nexit 255\n',
        encoding="utf-8",
    )
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    assert resolve_target("staging").outputs == document
    with pytest.raises(OperationError, match="neither SSM nor `pulumi stack output` has its outputs"):
        resolve_target("other")


def test_no_credentials_for_a_deployed_stack(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = invoke("--stack", "dev", "status")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no AWS credentials found "
        "(set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile)\n"
    )


def test_unknown_profile_is_a_usage_error(invoke, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("--stack", "dev", "--profile", "nobody", "status")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: The config profile (nobody) could not be found")


def test_command_level_options_win_over_global_ones(invoke, deployed: Stack, tmp_path: Path) -> None:
    # --stack local before the command, --stack test after it: the command's own option is used.
    result = invoke("--stack", "local", "status", "--stack", DEPLOYED_STACK, "--json")

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == DEPLOYED_STACK


def test_json_mode_from_the_environment(invoke, deployed: Stack) -> None:
    result = invoke("status", env={"PIPELINE_JSON": "1"})

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queues"]["dlq"]["visible"] == 0
