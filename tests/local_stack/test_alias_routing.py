"""The Writer's mapping invokes the alias ``live`` locally too, resolved per invocation as Lambda does.

moto stores a mapping to an alias as the version the alias pointed at (``…:writer:1``); the local stack puts
the declared alias back and the dispatcher reads the alias before each invocation, so moving it (what
CodeDeploy does during a release) changes which version runs, with that version's own configuration.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from functions.writer import handler as writer
from infra import spec
from local_stack.stack import LocalStack
from tests.support.functions import record

pytestmark = pytest.mark.e2e

MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
MARK = "CANARY_TEST_MARK"
"""A variable only the versions this test publishes set: which version's configuration ran."""


class Spy:
    """The real Writer handler, noting which version ran and what its environment held."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None, str | None]] = []
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.seen.append(
                (
                    context.function_version,
                    os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
                    os.environ.get(MARK),
                )
            )
        return writer.handler(event, context)

    def take(self) -> list[tuple[str, str | None, str | None]]:
        with self._lock:
            seen, self.seen = self.seen, []
        return seen


@pytest.fixture(scope="module")
def spy() -> Spy:
    return Spy()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, spy: Spy) -> Iterator[LocalStack]:
    with LocalStack(
        tmp_path_factory.mktemp("alias"), fresh=True, write_outputs=False, handlers={"writer": spy}
    ) as running:
        yield running


def writer_name(stack: LocalStack) -> str:
    return stack.outputs["writer_function"]


def publish(stack: LocalStack, mark: str) -> str:
    """A new Writer version whose configuration differs from the last by ``MARK`` only."""
    lam = stack.client("lambda")
    name = writer_name(stack)
    variables = dict(lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"])
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {**variables, MARK: mark}})
    return str(lam.publish_version(FunctionName=name)["Version"])


def send_one_at_a_time(stack: LocalStack, count: int) -> None:
    """``count`` invocations: each message is handled before the next is sent."""
    sqs = stack.client("sqs")
    for number in range(count):
        body = json.dumps(record(f"alias-{number}"))
        sqs.send_message(QueueUrl=stack.outputs["writer_queue_url"], MessageBody=body)
        stack.wait_until_idle(timeout=30)


def test_the_mapping_keeps_the_alias_the_program_declared(stack: LocalStack) -> None:
    assert stack.deployment is not None
    [declared] = [
        m for m in stack.deployment.of_type(MAPPING) if writer_name(stack) in m.inputs["functionName"]
    ]
    [mapping] = [
        m
        for m in stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        if m["EventSourceArn"] == declared.inputs["eventSourceArn"]
    ]

    assert declared.inputs["functionName"].endswith(f":{spec.WRITER_ALIAS}")
    assert mapping["FunctionArn"] == declared.inputs["functionName"] == declared.outputs["functionArn"]
    [source] = [
        s for s in (stack.wiring.queue_sources if stack.wiring else []) if s.function.role == "writer"
    ]
    assert source.alias == spec.WRITER_ALIAS


def test_moving_the_alias_moves_the_traffic_with_the_versions_configuration(
    stack: LocalStack, spy: Spy
) -> None:
    lam = stack.client("lambda")
    name = writer_name(stack)
    first = lam.get_alias(FunctionName=name, Name=spec.WRITER_ALIAS)["FunctionVersion"]
    spy.take()
    send_one_at_a_time(stack, 2)
    assert spy.take() == [(first, first, None)] * 2

    second = publish(stack, "second")
    lam.update_alias(FunctionName=name, Name=spec.WRITER_ALIAS, FunctionVersion=second)
    send_one_at_a_time(stack, 2)

    assert spy.take() == [(second, second, "second")] * 2


def test_a_weighted_alias_sends_the_additional_version_its_exact_share(stack: LocalStack, spy: Spy) -> None:
    """CodeDeploy's canary: ``live`` on the old version, 10 % of the invocations on the new one."""
    lam = stack.client("lambda")
    name = writer_name(stack)
    old = lam.get_alias(FunctionName=name, Name=spec.WRITER_ALIAS)["FunctionVersion"]
    new = publish(stack, "canary")
    lam.update_alias(
        FunctionName=name,
        Name=spec.WRITER_ALIAS,
        FunctionVersion=old,
        RoutingConfig={"AdditionalVersionWeights": {new: 0.1}},
    )
    spy.take()

    send_one_at_a_time(stack, 20)

    versions = [version for version, _, _ in spy.take()]
    assert versions == [new] + [old] * 9 + [new] + [old] * 9


def test_a_variable_only_another_version_sets_is_not_inherited(stack: LocalStack, spy: Spy) -> None:
    """Environment variables are per process: going back to version 1 must not keep what 2 and 3 set."""
    lam = stack.client("lambda")
    lam.update_alias(
        FunctionName=writer_name(stack),
        Name=spec.WRITER_ALIAS,
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    spy.take()

    send_one_at_a_time(stack, 1)

    assert spy.take() == [("1", "1", None)]
