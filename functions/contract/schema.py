"""The JSON Schema of an input record, generated from the contract's table."""

from __future__ import annotations

from typing import Any

from functions.contract.fields import FIELDS


def json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of an input record, generated from ``FIELDS``.

    The schema is deliberately the *canonical* shape: every record it admits, the contract accepts. The
    contract is more lenient than the schema says in ways a schema cannot express cheaply (surrounding
    whitespace, inner whitespace runs, case of email, currency and status).
    """
    properties: dict[str, Any] = {}
    all_of: list[dict[str, Any]] = []
    required: list[str] = []
    for field in FIELDS:
        spellings = [field.name] if field.camel == field.name else [field.name, field.camel]
        for spelling in spellings:
            properties[spelling] = {**field.schema, "description": field.description}
        if field.required:
            if len(spellings) == 1:
                required.append(field.name)
            else:
                all_of.append({"anyOf": [{"required": [spelling]} for spelling in spellings]})
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://serverless-pipeline/schemas/account-record.json",
        "title": "Account record",
        "description": (
            "One account record as accepted by POST /writer and in uploaded files. Keys in snake_case or "
            "camelCase; unknown keys are dropped (counted, never an error)."
        ),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }
    if all_of:
        schema["allOf"] = all_of
    return schema
