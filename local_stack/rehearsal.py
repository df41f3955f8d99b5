"""The deploy rehearsal: does the applied program actually move records where the pipeline says they go?

Run on a started :class:`~local_stack.stack.LocalStack` (the program applied to the emulator). Two parts,
each answering with a list of problems in words (empty: the rehearsal passed):

* wiring: each queue of the outputs document is polled by an enabled mapping that honours partial batch
  failures, the data bucket notifies a function, the API route sends to WriterQueue;
* flows: a file upload and a ``POST`` (SigV4-signed when the route wants ``AWS_IAM``) through the real
  handlers — valid records reach AccountTable, an invalid one reaches LogTable as ``InvalidRecord``, and a
  record whose writes keep failing (the fault switch) travels WriterQueue → redrive → DLQ → ErrorHandler →
  LogTable as ``RetriesExhausted``.

What it cannot prove: IAM (moto enforces no IAM policy), throttling, the canary release, anything of AWS's
own services beyond what moto models (docs/local-stack.md).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.sessions import LOCAL_CREDENTIALS

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

FLOW_TIMEOUT_SECONDS = 30.0


def rehearse(stack: LocalStack, *, timeout: float = FLOW_TIMEOUT_SECONDS, failures: bool = True) -> list[str]:
    """Every problem found (empty: passed). ``failures=False`` leaves out the slow DLQ flow (the SDK's
    retries of the failing write take seconds)."""
    problems = wiring_problems(stack)
    return problems or flow_problems(stack, timeout=timeout, failures=failures)


def wiring_problems(stack: LocalStack) -> list[str]:
    wiring, outputs = stack.wiring, stack.outputs
    assert wiring is not None
    problems = []
    for key in ("writer_queue_url", "dlq_url"):
        sources = [s for s in wiring.queue_sources if s.queue_url == outputs[key] and s.enabled]
        if not sources:
            problems.append(f"{key}: no enabled event source mapping polls {outputs[key]}")
        problems += [
            f"{key}: the mapping to {s.function.name} lacks ReportBatchItemFailures (a partial failure would "
            "delete the whole batch)"
            for s in sources
            if not s.report_failures
        ]
    if not wiring.async_targets:
        problems.append(f"data_bucket: {outputs['data_bucket']} notifies no function")
    if [route.queue_url for route in wiring.api_routes] != [outputs["writer_queue_url"]]:
        problems.append("api: the route does not send to writer_queue_url")
    return problems


def flow_problems(
    stack: LocalStack, *, timeout: float = FLOW_TIMEOUT_SECONDS, failures: bool = True
) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    ids = {name: f"rehearsal-{tag}-{name}" for name in ("upload", "post", "invalid", "fault")}

    def record(account_id: str) -> dict[str, str]:
        return {
            "account_id": account_id,
            "name": "Rehearsal",
            "email": "rehearsal@example.com",
            "balance": "1.00",
            "currency": "EUR",
        }

    outputs = stack.outputs
    stack.faults.fail_account_ids([ids["fault"]])
    try:
        stack.client("s3").put_object(
            Bucket=outputs["data_bucket"],
            Key=f"rehearsal/{tag}.json",
            Body=json.dumps([record(ids["upload"]), {**record(ids["invalid"]), "currency": "E"}]).encode(),
        )
        for body in (record(ids["post"]), *([record(ids["fault"])] if failures else [])):
            status = post(stack, json.dumps(body).encode())
            if status != 200:
                return [f"POST /writer answered {status}"]
        try:
            stack.wait_until_idle(timeout)
        except TimeoutError as error:
            return [f"the pipeline did not settle: {error}"]
    finally:
        stack.faults.clear()
    problems = []
    dynamodb = stack.client("dynamodb")
    for name in ("upload", "post"):
        item = dynamodb.get_item(TableName=outputs["account_table"], Key={"account_id": {"S": ids[name]}})
        if "Item" not in item:
            problems.append(f"the {name}ed valid record {ids[name]} is not in AccountTable")
    logged = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=outputs["log_table"])
        for item in page["Items"]
        if tag in item.get("body", {}).get("S", "")
    ]
    types = {
        name: {item["error_type"]["S"] for item in logged if ids[name] in item["body"]["S"]}
        for name in ("invalid", "fault")
    }
    if "InvalidRecord" not in types["invalid"]:
        problems.append(
            f"the invalid uploaded record is not in LogTable as InvalidRecord ({types['invalid']})"
        )
    if failures and "RetriesExhausted" not in types["fault"]:
        problems.append(f"the failing record did not reach LogTable through the DLQ ({types['fault']})")
    return problems


def post(stack: LocalStack, body: bytes) -> int:
    """POST to the route as a client would, SigV4-signed (``execute-api``) when it wants ``AWS_IAM``."""
    url = f"{stack.outputs['api_url']}/writer"
    headers = {"Content-Type": "application/json"}
    wiring = stack.wiring
    if wiring is not None and wiring.api_routes and wiring.api_routes[0].authorization == "AWS_IAM":
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        credentials = Credentials(
            LOCAL_CREDENTIALS["aws_access_key_id"], LOCAL_CREDENTIALS["aws_secret_access_key"]
        )
        SigV4Auth(credentials, "execute-api", stack.outputs["region"]).add_auth(request)
        headers = dict(request.headers.items())
    answer: Any
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, headers=headers), timeout=10
        ) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
