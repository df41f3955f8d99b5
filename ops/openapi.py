"""The OpenAPI 3.1 description of ``POST /writer``, built from the record contract.

Why generated and not hand-written: the request schema is ``functions.contract.json_schema()``, the same
field table the transformer and writer validate with, so the published description cannot drift from what the
pipeline accepts. The repository ships the result as ``openapi.json`` (for client developers, and served by
the local stack at ``GET /openapi.json``); a test fails when the shipped file is stale. Regenerate with::

    python -m ops.openapi > openapi.json

What the route promises, and what it does not: API Gateway hands the raw body to SQS (no Lambda in between),
so ``200`` means *queued*, not *valid*. Every queued record then ends either in AccountTable or as a LogTable
item naming what was wrong (docs/design.md, "Messages and failures"). The synchronous refusals are the
gateway's own: an empty or non-UTF-8 body (400), a missing or bad SigV4 signature (403), a body over SQS's
256 KiB limit (413), stage throttling (429).
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from typing import Any

from functions.contract import json_schema
from functions.model import MAX_MESSAGE_BYTES

OPENAPI_VERSION = "3.1.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REGENERATE_COMMAND = "python -m ops.openapi > openapi.json"
SECURITY_SCHEME = "sigv4"
_RECORD = "#/components/schemas/AccountRecord"
_ERROR = "#/components/schemas/GatewayError"


def _version() -> str:
    try:
        return metadata.version("serverless-pipeline")
    except metadata.PackageNotFoundError:  # running from a checkout that was never pip-installed
        return "0.0.0"


def _record_schema() -> dict[str, Any]:
    """The contract's schema as an OpenAPI component: 3.1 speaks 2020-12 natively, so only the document-level
    keywords go (``$id`` would re-base references inside the OpenAPI document)."""
    schema = dict(json_schema())
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _ERROR}}}}


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document as a plain dict (deterministic: the shipped file is compared to it)."""
    limit = f"{MAX_MESSAGE_BYTES:,} bytes (256 KiB)"
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": JSON_SCHEMA_DIALECT,
        "info": {
            "title": "serverless-pipeline ingestion API",
            "version": _version(),
            "description": (
                "Send account records to the pipeline. The body is queued as-is (API Gateway → SQS, no "
                "Lambda), so 200 means queued, not valid: each record then ends in AccountTable (written, or "
                "stale when a newer update is already stored) or as a LogTable item whose reason names every "
                "failing "
                "field (`pipeline-ctl errors tail`). Generated from the record contract by "
                f"`{REGENERATE_COMMAND}`."
            ),
        },
        "servers": [
            {
                "url": "{apiUrl}",
                "description": "The stack output `api_url` (the local stack prints it at start).",
                "variables": {"apiUrl": {"default": "http://127.0.0.1:8080"}},
            }
        ],
        "paths": {
            "/writer": {
                "post": {
                    "operationId": "sendRecords",
                    "summary": "Queue one account record, or an array of them, for the writer",
                    "description": (
                        f"The raw body must be UTF-8 JSON of at most {limit}. Keys may be snake_case or "
                        "camelCase; unknown keys are dropped. An array's records are judged one by one."
                    ),
                    "security": [{SECURITY_SCHEME: []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": _RECORD},
                                        {"type": "array", "items": {"$ref": _RECORD}, "minItems": 1},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Queued on WriterQueue (SQS SendMessage's answer).",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SendMessageResult"}
                                }
                            },
                        },
                        "400": _error_response("The body is empty or not UTF-8 text."),
                        "403": _error_response(
                            "Missing or invalid SigV4 signature, or the caller lacks execute-api:Invoke "
                            "(only when the stack's `api_auth` is AWS_IAM)."
                        ),
                        "413": _error_response(f"The body is over {limit}, SQS's message size limit."),
                        "429": _error_response("Throttled by the stage's rate or burst limit: retry later."),
                        "5XX": _error_response("SQS refused or was unreachable: nothing was queued; retry."),
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "AccountRecord": _record_schema(),
                "SendMessageResult": {
                    "type": "object",
                    "required": ["MessageId"],
                    "properties": {
                        "MessageId": {
                            "type": "string",
                            "description": "The SQS message id; LogTable's `origin_message_id` refers to it.",
                        },
                        "MD5OfMessageBody": {"type": "string"},
                    },
                },
                "GatewayError": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}},
                },
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": (
                        "AWS_IAM authorization: sign each request with AWS Signature Version 4 for service "
                        "`execute-api` (`pipeline-ctl send` does). Stacks configured with `apiAuth: NONE`, "
                        "such as the local stack, need no signature."
                    ),
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        },
    }


def render() -> str:
    """The document as the shipped file holds it: 2-space JSON, UTF-8, trailing newline."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
