"""The shipped ``openapi.json`` is the generated one, and it describes the contract's record."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import schemathesis
from schemathesis.core.result import Err

from functions.contract import json_schema
from ops.openapi import REGENERATE_COMMAND, build_document, render

SHIPPED = Path(__file__).resolve().parents[2] / "openapi.json"


def test_shipped_openapi_json_is_up_to_date() -> None:
    assert SHIPPED.is_file(), f"openapi.json is missing at the repository root; run: {REGENERATE_COMMAND}"
    assert SHIPPED.read_text(encoding="utf-8") == render(), (
        f"openapi.json differs from what ops/openapi.py generates; regenerate it: {REGENERATE_COMMAND}"
    )


def test_request_body_is_the_contract_schema() -> None:
    document = build_document()
    record = document["components"]["schemas"]["AccountRecord"]
    contract = json_schema()
    assert record["properties"] == contract["properties"]
    assert record["required"] == contract["required"]
    body = document["paths"]["/writer"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/AccountRecord"} in body["oneOf"]


def test_schemathesis_loads_exactly_one_operation() -> None:
    schema = schemathesis.openapi.from_dict(json.loads(SHIPPED.read_text(encoding="utf-8")))
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"schemathesis could not load an operation: {result.err()}")
        operations.append(result.ok())
    assert [(op.method.upper(), op.path) for op in operations] == [("POST", "/writer")]


def test_record_schema_accepts_a_valid_record_and_refuses_a_scalar() -> None:
    """The component is a usable 2020-12 schema: a valid record validates, a bare number does not."""
    record = build_document()["components"]["schemas"]["AccountRecord"]
    validator = jsonschema.Draft202012Validator(record)
    good = {
        "accountId": "acc-1",
        "name": "Ada",
        "email": "ada@example.com",
        "balance": "1.00",
        "currency": "EUR",
    }
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors(42))


def test_security_scheme_documents_sigv4() -> None:
    document = build_document()
    scheme = document["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert document["paths"]["/writer"]["post"]["security"] == [{"sigv4": []}]
    responses = document["paths"]["/writer"]["post"]["responses"]
    assert set(responses) == {"200", "400", "403", "413", "429", "5XX"}
