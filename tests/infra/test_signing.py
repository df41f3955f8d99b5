"""The entry-time key: an HMAC key in KMS, verified by the Transformer alone, signed with by replays alone."""

from __future__ import annotations

import json

from infra import spec
from tests.support.infra import Program

KEY = "aws:kms/key:Key"


def kms_grants(document: dict) -> list[tuple[list[str], list[str]]]:
    return [
        (statement["Action"], statement["Resource"])
        for statement in document["Statement"]
        if any(action.startswith("kms:") for action in statement["Action"])
    ]


def test_the_key_is_an_hmac_key_for_macs_only(dev: Program) -> None:
    key = dev.one(KEY, "entry-time")
    assert key.inputs["customerMasterKeySpec"] == "HMAC_256"
    assert key.inputs["keyUsage"] == "GENERATE_VERIFY_MAC"
    assert key.inputs["deletionWindowInDays"] == 30


def test_only_the_transformer_may_verify_and_nobody_else_may_use_the_key(dev: Program) -> None:
    key = dev.one(KEY, "entry-time")
    grants = {}
    for function_key in ("transformer_function", "writer_function", "error_handler_function"):
        role = dev.role_of_function(dev.function(function_key))
        grants[function_key] = kms_grants(dev.policy_of_role(role))
    assert grants == {
        "transformer_function": [(["kms:VerifyMac"], [key.outputs["arn"]])],
        "writer_function": [],
        "error_handler_function": [],
    }


def test_the_operators_replay_policy_signs_with_that_key_only(dev: Program) -> None:
    key = dev.one(KEY, "entry-time")
    policy = dev.one("aws:iam/policy:Policy", "entry-time-replay")
    assert kms_grants(json.loads(policy.inputs["policy"])) == [(["kms:GenerateMac"], [key.outputs["arn"]])]


def test_the_outputs_document_names_the_key_for_replays(dev: Program) -> None:
    assert dev.outputs[spec.ENTRY_TIME_KEY_OUTPUT] == dev.one(KEY, "entry-time").outputs["arn"]
