"""The deploy rehearsal: the real ``__main__.py`` applied to the emulator, for the committed dev and prod
config, then checked against what the program declared and run end to end; broken variants of the program
(made by a tampering hook, never by editing infra/) must fail it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import spec
from local_stack import rehearsal, resource_types
from local_stack.deployment import Deployment
from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e

FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "local-stack.md"


@pytest.fixture(scope="module", params=["dev", "prod"])
def committed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """The program applied with the committed config of the stack, ``AWS_IAM`` route included."""
    stack = LocalStack(
        tmp_path_factory.mktemp(request.param),
        fresh=True,
        program_stack=request.param,
        config={"apiAuth": "AWS_IAM"},
        write_outputs=False,
    )
    with stack:
        yield stack


def _deployment(stack: LocalStack) -> Deployment:
    assert stack.deployment is not None
    return stack.deployment


def test_the_program_applies_and_every_resource_type_has_a_row(committed: LocalStack) -> None:
    deployment = _deployment(committed)
    assert {resource.type for resource in deployment.resources} <= set(resource_types.TYPES)
    assert set(spec.OUTPUT_KEYS) <= set(deployment.exports)
    assert committed.outputs["api_auth"] == "AWS_IAM"


def test_functions_in_the_emulator_are_what_the_program_declared(committed: LocalStack) -> None:
    lam = committed.client("lambda")
    declared = _deployment(committed).of_type(FUNCTION)
    assert len(declared) == 3
    for function in declared:
        config = lam.get_function_configuration(FunctionName=function.inputs["name"])
        assert config["Handler"] == function.inputs["handler"]
        assert config["Runtime"] == function.inputs["runtime"]
        assert config["Timeout"] == function.inputs["timeout"]
        assert config["MemorySize"] == function.inputs["memorySize"]
        assert config["Environment"]["Variables"] == function.inputs["environment"]["variables"]
        assert [layer["Arn"].split(":")[6:] for layer in config["Layers"]] == [
            arn.split(":")[6:] for arn in function.inputs["layers"]
        ]
        assert config["CodeSize"] > 10_000  # the real functions/ zip


def test_mappings_notification_and_route_are_what_the_program_declared(committed: LocalStack) -> None:
    wiring = committed.wiring
    assert wiring is not None
    declared = {m.inputs["eventSourceArn"]: m.inputs for m in _deployment(committed).of_type(MAPPING)}
    assert {s.queue_arn for s in wiring.queue_sources} == set(declared)
    for source in wiring.queue_sources:
        inputs = declared[source.queue_arn]
        assert source.batch_size == inputs["batchSize"]
        assert source.function.arn in inputs["functionName"]
        assert source.report_failures == ("ReportBatchItemFailures" in inputs["functionResponseTypes"])
    (notification,) = _deployment(committed).of_type(NOTIFICATION)
    s3 = committed.client("s3")
    stored = s3.get_bucket_notification_configuration(Bucket=notification.inputs["bucket"])
    rules = stored["LambdaFunctionConfigurations"][0]["Filter"]["Key"]["FilterRules"]
    assert rules == [{"Name": "suffix", "Value": notification.inputs["lambdaFunctions"][0]["filterSuffix"]}]
    (route,) = wiring.api_routes
    assert (route.method, route.path, route.authorization) == ("POST", "/writer", "AWS_IAM")
    assert route.queue_url == committed.outputs["writer_queue_url"]


def test_upload_post_and_a_failure_through_the_dlq_flow_end_to_end(committed: LocalStack) -> None:
    assert rehearsal.rehearse(committed) == []


def test_an_unsigned_post_is_refused_when_the_route_wants_aws_iam(committed: LocalStack) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{committed.outputs['api_url']}/writer", data=b'{"a": 1}')
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403


def test_an_unknown_resource_type_stops_the_rehearsal() -> None:
    with pytest.raises(resource_types.UnknownResourceType, match="aws:s3/bucketWebsite"):
        resource_types.row("aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration")


def test_the_docs_table_lists_every_resource_type() -> None:
    text = DOCS.read_text()
    missing = [token for token, _, _ in resource_types.describe() if f"`{token}`" not in text]
    assert missing == []


def test_function_log_is_owner_only(committed: LocalStack) -> None:
    from local_stack.stack import FUNCTION_LOG_PATH

    mode = (committed.workdir / FUNCTION_LOG_PATH).stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
