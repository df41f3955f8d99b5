"""What a million records cost, from counts measured on the local stack and AWS's public on-demand prices.

Three runs on one local stack in this process (moto server, dispatcher, the real handlers), each with new
accounts only, so every record is exactly one write:

1. upload path: one S3 object of ``--records`` records → transformer → WriterQueue → writer → AccountTable;
2. API path, one record per ``POST /writer`` (``--single-records`` records, ``pipeline-ctl send``'s library
   function at concurrency 8);
3. API path, ``--batch`` records per POST (``--records`` records).

What is counted, and how:

* Every AWS call of every client in this process is seen by botocore hooks registered before any client
  exists (the handlers', the dispatcher's — Lambda's event source mapping —, the API stand-in's, the
  upload's). SQS calls are billed per 64 KiB chunk of their payload (message bodies and attributes);
  ReceiveMessage calls that return nothing are idle polling, a cost per hour, not per record: counted, not
  billed. The S3-notification queue and every GetQueueAttributes are the local stack's own machinery (in AWS,
  S3 invokes the transformer directly): counted, not billed.
* DynamoDB write units from the items actually sent (each PutItem's ``Item``), a failed condition included.
* API requests: one per body API Gateway passed to SQS (512 KiB chunks).
* Lambda: each handler is wrapped; per invocation, the wall time and the CPU time of the threads the handler
  runs on (its own and those it starts), minus the CPU the emulator spends answering it in-process. The
  billed estimate is that CPU stretched to the function's vCPU share at its deployed memory (read from
  ``infra.spec``), rounded up to the millisecond per invocation. This is an estimate: it assumes one core of
  this machine equals one Lambda (Graviton) vCPU and CPU-bound functions (service latency overlapped). By
  default the handlers' calls go over HTTP, so their CPU includes the HTTP client's work, as in Lambda
  (TLS aside); ``--in-process`` takes the local stack's shortcut into moto, faster but without that work.
  The wall time here is printed too, never used: it grows with the machine's load.
* CloudWatch Logs: the bytes the handlers printed. Lambda's own START/END/REPORT lines are not counted: the
  functions log in JSON with the system log level at WARN, which drops them.
* X-Ray: the functions trace actively (``infra.functions.TRACING_MODE``); traces recorded = 5 % of the
  invocations (the default sampling rule).

Compared with (a) the floor: the DynamoDB writes alone; (b) the straightforward design (one record per SQS
message, one PutItem per invocation), a model built from the same measured per-record figures (see
``cost_model.Straightforward``). Goal for the upload path: ≤ 1.05 × the floor.

Run: ``.venv/bin/python -m bench.cost [--records 5000] [--single-records 500] [--batch 100] [--in-process]``
(the defaults take about a minute on the shared 2-core machine; the one-by-one run defaults to a tenth)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from bench.cost_model import (
    FLOOR_LINE,
    LAMBDA_MB_PER_VCPU,
    PRICES,
    PRICES_CHECKED,
    REGION,
    XRAY_SAMPLING_RATE,
    Bill,
    Line,
    Straightforward,
    WriterCost,
    api_requests,
    attribute_value_bytes,
    billed_ms,
    floor,
    gb_seconds,
    item_bytes,
    lambda_gb_price,
    lambda_seconds,
    split_writer_cost,
    sqs_message_bytes,
    sqs_requests,
    write_units,
)
from infra import spec

TARGET_RATIO = 1.05

S3_PUT_OPERATIONS = frozenset(
    {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "CopyObject"}
)
S3_GET_OPERATIONS = frozenset({"GetObject", "HeadObject"})
DYNAMODB_WRITES = frozenset({"PutItem", "BatchWriteItem", "ExecuteStatement", "BatchExecuteStatement"})
SQS_SENDS = frozenset({"SendMessage", "SendMessageBatch"})
SQS_DELETES = frozenset({"DeleteMessage", "DeleteMessageBatch"})
SQS_BILLED = (
    SQS_SENDS
    | SQS_DELETES
    | {
        "ReceiveMessage",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
CONDITION_FAILED = "ConditionalCheckFailedException"


# --- Counting AWS calls ---------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the AWS calls of one run add up to."""

    s3_put: int = 0
    s3_get: int = 0
    sqs: Counter[str] = field(default_factory=Counter)
    """Billed SQS requests (chunks) by line: ``send``, ``receive``, ``delete``, ``other``."""
    sqs_calls: Counter[str] = field(default_factory=Counter)
    sent_entries: int = 0
    sent_bytes: int = 0
    empty_receives: int = 0
    machinery: Counter[str] = field(default_factory=Counter)
    """Calls that are the local stack's own (not billed): notification queue, queue depth checks."""
    api_requests: int = 0
    api_bodies: int = 0
    api_body_bytes: int = 0
    writes: int = 0
    write_units: int = 0
    writes_sized_from_statement: int = 0
    unpriced: Counter[str] = field(default_factory=Counter)


class CallRecorder:
    """botocore hooks on every client created after :meth:`install`: each AWS call, classified and counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = Counts()
        self._writer_queue = self._dlq = self._notifications = "?"
        self._active = False

    def install(self) -> None:
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-parameter-build", self._keep_params))
        BUILTIN_HANDLERS.append(("after-call", self._after_call))
        # The writer sends PutItem through its own lean transport (functions/writer/transport.py), which emits
        # botocore's before-send event for every attempt but no after-call: its PutItems are counted there,
        # from the request body (a throttled attempt would be counted too; the local stack does not throttle).
        BUILTIN_HANDLERS.append(("before-send.dynamodb.PutItem", self._put_item_sent))

    def watch(self, *, writer_queue_url: str, dlq_url: str, notification_queue_url: str) -> None:
        self._writer_queue = _queue_name(writer_queue_url)
        self._dlq = _queue_name(dlq_url)
        self._notifications = _queue_name(notification_queue_url)

    def start(self) -> None:
        with self._lock:
            self.counts = Counts()
            self._active = True

    def stop(self) -> Counts:
        with self._lock:
            self._active = False
            return self.counts

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["cost_params"] = params

    def _after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not self._active:
            return
        params = context.get("cost_params") or {}
        service = model.service_model.service_name
        operation = model.name
        status = getattr(http_response, "status_code", 500)
        attempts = 1 + int(parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0)
        with self._lock:
            if service == "s3":
                self._s3(operation, attempts)
            elif service == "sqs":
                self._sqs(operation, params, parsed, status)
            elif service == "dynamodb":
                self._dynamodb(operation, params, parsed, status)
            else:
                self.counts.unpriced[f"{service}.{operation}"] += 1

    def _s3(self, operation: str, attempts: int) -> None:
        if operation in S3_PUT_OPERATIONS:
            self.counts.s3_put += attempts
        elif operation in S3_GET_OPERATIONS:
            self.counts.s3_get += attempts
        else:
            self.counts.unpriced[f"s3.{operation}"] += 1

    def _sqs(self, operation: str, params: dict[str, Any], parsed: dict[str, Any], status: int) -> None:
        counts = self.counts
        queue = _queue_name(str(params.get("QueueUrl", "")))
        if queue == self._notifications or operation not in SQS_BILLED:
            counts.machinery[f"sqs.{operation}"] += 1
            return
        if queue not in (self._writer_queue, self._dlq):
            counts.unpriced[f"sqs.{operation}"] += 1
            return
        if operation == "ReceiveMessage":
            messages = parsed.get("Messages") or []
            if not messages:
                counts.empty_receives += 1
                return
            payload = sum(sqs_message_bytes(m.get("Body", ""), m.get("MessageAttributes")) for m in messages)
            line = "receive"
        elif operation in SQS_SENDS:
            entries = params.get("Entries") or [params]
            sizes = [sqs_message_bytes(e.get("MessageBody", ""), e.get("MessageAttributes")) for e in entries]
            payload = sum(sizes)
            if status == 200:
                counts.sent_entries += len(entries)
                counts.sent_bytes += payload
            line = "send"
            if operation == "SendMessage" and queue == self._writer_queue and status == 200:
                # Only API Gateway's integration (the local API stand-in) sends single messages here.
                counts.api_bodies += 1
                counts.api_body_bytes += payload
                counts.api_requests += api_requests(payload)
        elif operation in SQS_DELETES:
            payload, line = 0, "delete"
        else:
            payload, line = 0, "other"
        counts.sqs[line] += sqs_requests(payload)
        counts.sqs_calls[line] += 1

    def _put_item_sent(self, request: Any, **_: Any) -> None:
        """One PutItem attempt of the writer's own transport (a write unit is consumed whether it is written
        or its condition fails). botocore's own requests carry a User-Agent and are counted after the call."""
        if not self._active or "User-Agent" in request.headers:
            return
        body = request.body
        item = json.loads(body.decode() if isinstance(body, bytes) else body or "{}").get("Item") or {}
        with self._lock:
            self._write(item_bytes(item))

    def _dynamodb(self, operation: str, params: dict[str, Any], parsed: dict[str, Any], status: int) -> None:
        if operation not in DYNAMODB_WRITES:
            self.counts.unpriced[f"dynamodb.{operation}"] += 1
            return
        error = parsed.get("Error", {}).get("Code")
        if operation == "PutItem":
            if status == 200 or error == CONDITION_FAILED:
                self._write(item_bytes(params["Item"]))
        elif operation == "BatchWriteItem":
            unprocessed = sum(len(v) for v in (parsed.get("UnprocessedItems") or {}).values())
            requests = [r for table in params.get("RequestItems", {}).values() for r in table]
            for request in requests[: len(requests) - unprocessed]:
                item = request.get("PutRequest", {}).get("Item")
                self._write(item_bytes(item) if item else 0)
        elif operation == "ExecuteStatement":
            if status == 200 or error == CONDITION_FAILED:
                self._statement(params)
        else:  # BatchExecuteStatement: charged per statement unless it failed for another reason
            answers = parsed.get("Responses") or []
            for statement, answer in zip(params.get("Statements", []), answers, strict=False):
                code = (answer.get("Error") or {}).get("Code")
                if code is None or code in (CONDITION_FAILED, "ConditionalCheckFailed"):
                    self._statement(statement)

    def _statement(self, statement: Mapping[str, Any]) -> None:
        """A PartiQL write's item size: the names quoted in the statement plus the parameter values."""
        text = str(statement.get("Statement", ""))
        names = re.findall(r"'([^']*)'\s*:", text)
        size = sum(len(name.encode()) for name in names)
        size += sum(attribute_value_bytes(value) for value in statement.get("Parameters", []))
        self.counts.writes_sized_from_statement += 1
        self._write(size)

    def _write(self, size: int) -> None:
        self.counts.writes += 1
        self.counts.write_units += write_units(size)


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- Timing the handlers --------------------------------------------------------------------------------

_original_start = threading.Thread.start


def _start_with_owner(self: threading.Thread) -> None:
    """Threads inherit the function their creator works for: the writer's pools belong to the writer."""
    owner = getattr(threading.current_thread(), "cost_owner", None)
    if owner is not None and getattr(self, "cost_owner", None) is None:
        self.cost_owner = owner  # type: ignore[attr-defined]
    _original_start(self)


def _thread_cpu(thread: threading.Thread) -> float | None:
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident or 0))
    except (OSError, ProcessLookupError, OverflowError):
        return None


@dataclass
class Invocation:
    wall: float
    cpu: float
    """CPU of the function's threads, less what the in-process emulator spent on them."""
    messages: int


class FunctionMeter:
    """Wraps one real handler: times every invocation (wall, CPU of its threads, emulator CPU excluded)."""

    def __init__(self, name: str, target: str, memory_mb: int, emulator_cpu: EmulatorCpu) -> None:
        self.name = name
        self.memory_mb = memory_mb
        self._target = target
        self._handler: Callable[[dict[str, Any], Any], Any] | None = None
        self._emulator_cpu = emulator_cpu
        self._lock = threading.Lock()
        self.invocations: list[Invocation] = []

    def reset(self) -> list[Invocation]:
        with self._lock:
            done, self.invocations = self.invocations, []
            return done

    def _owned(self) -> dict[int, float]:
        clocks = {}
        for thread in threading.enumerate():
            if getattr(thread, "cost_owner", None) == self.name and thread.ident is not None:
                value = _thread_cpu(thread)
                if value is not None:
                    clocks[thread.ident] = value
        return clocks

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        if self._handler is None:
            import importlib

            module, _, attribute = self._target.rpartition(".")
            self._handler = getattr(importlib.import_module(module), attribute)
        thread = threading.current_thread()
        thread.cost_owner = self.name  # type: ignore[attr-defined]
        try:
            before = self._owned()
            emulator_before = self._emulator_cpu.total(self.name)
            started = time.perf_counter()
            try:
                return self._handler(event, context)
            finally:
                wall = time.perf_counter() - started
                after = self._owned()
                cpu = sum(value - before.get(ident, 0.0) for ident, value in after.items())
                cpu -= self._emulator_cpu.total(self.name) - emulator_before
                with self._lock:
                    self.invocations.append(Invocation(wall, max(0.0, cpu), len(event.get("Records", []))))
        finally:
            thread.cost_owner = None  # type: ignore[attr-defined]


class EmulatorCpu:
    """CPU the in-process emulator spends inside each function's threads (moto's work, not the handler's)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, float] = {}

    def wrap(self, send: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def timed(request: Any) -> Any:
            started = time.thread_time()
            try:
                return send(request)
            finally:
                owner = getattr(threading.current_thread(), "cost_owner", None)
                if owner is not None:
                    with self._lock:
                        self._totals[owner] = self._totals.get(owner, 0.0) + time.thread_time() - started

        return timed

    def total(self, owner: str) -> float:
        with self._lock:
            return self._totals.get(owner, 0.0)


# --- One run --------------------------------------------------------------------------------------------


@dataclass
class FunctionRun:
    name: str
    memory_mb: int
    timeout_seconds: int
    invocations: list[Invocation]

    def estimates(self) -> list[float]:
        return [lambda_seconds(cpu=i.cpu, memory_mb=self.memory_mb) for i in self.invocations]

    @property
    def billed_ms(self) -> int:
        return sum(billed_ms(seconds) for seconds in self.estimates())

    @property
    def billed_ms_wall(self) -> int:
        return sum(billed_ms(i.wall) for i in self.invocations)

    @property
    def cpu(self) -> float:
        return sum(i.cpu for i in self.invocations)

    @property
    def gb_s(self) -> float:
        return gb_seconds(self.memory_mb, self.billed_ms)


@dataclass
class Run:
    path: str
    records: int
    counts: Counts
    functions: dict[str, FunctionRun]
    log_bytes: int
    seconds: float
    written: int

    @property
    def invocations(self) -> int:
        return sum(len(function.invocations) for function in self.functions.values())

    def bill(self, gb_price: str, trace_rate: float) -> Bill:
        c = self.counts
        lines = [
            Line("S3 PUT (upload)", c.s3_put, "s3_put"),
            Line("S3 GET", c.s3_get, "s3_get"),
            Line("API requests", c.api_requests, "api_request"),
            Line("SQS send", c.sqs["send"], "sqs_request"),
            Line("SQS receive", c.sqs["receive"], "sqs_request"),
            Line("SQS delete", c.sqs["delete"], "sqs_request"),
            Line("SQS other", c.sqs["other"], "sqs_request"),
        ]
        for name, run in self.functions.items():
            lines.append(Line(f"{name} requests", len(run.invocations), "lambda_request"))
            lines.append(Line(f"{name} GB-s", run.gb_s, gb_price))
        lines += [
            Line("CloudWatch Logs", self.log_bytes / 1024**3, "logs_gb"),
            Line("X-Ray traces", trace_rate * self.invocations, "xray_trace"),
            Line(FLOOR_LINE, c.write_units, "dynamodb_wru"),
        ]
        return Bill(self.path, self.records, tuple(line for line in lines if line.quantity))


def valid_records(count: int, prefix: str) -> list[dict[str, Any]]:
    """New accounts only: every record is exactly one write."""
    from local_stack.sample import generate_sample

    return generate_sample(
        count, prefix=prefix, invalid_share=0.0, duplicate_share=0.0, out_of_order_share=0.0
    ).records


class Bench:
    def __init__(self, stack: Any, workdir: Path, recorder: CallRecorder, meters: dict[str, FunctionMeter]):
        self.stack = stack
        self.workdir = workdir
        self.recorder = recorder
        self.meters = meters

    def _log_size(self) -> int:
        from local_stack.stack import FUNCTION_LOG_PATH

        path = self.workdir / FUNCTION_LOG_PATH
        sys.stdout.flush()
        return path.stat().st_size if path.exists() else 0

    def run(self, path: str, records: int, action: Callable[[], None]) -> Run:
        self.stack.wait_until_idle(120)
        for meter in self.meters.values():
            meter.reset()
        logs = self._log_size()
        written = self.stack.counters().get("dynamodb.written", 0)
        self.recorder.start()
        started = time.perf_counter()
        action()
        self.stack.wait_until_idle(900)
        seconds = time.perf_counter() - started
        counts = self.recorder.stop()
        functions = {
            name: FunctionRun(name, meter.memory_mb, TIMEOUTS[name], meter.reset())
            for name, meter in self.meters.items()
        }
        return Run(
            path=path,
            records=records,
            counts=counts,
            functions={name: run for name, run in functions.items() if run.invocations},
            log_bytes=self._log_size() - logs,
            seconds=seconds,
            written=self.stack.counters().get("dynamodb.written", 0) - written,
        )

    def upload(self, records: list[dict[str, Any]]) -> Run:
        def action() -> None:
            path = self.workdir / "cost-upload.json"
            path.write_text(json.dumps(records))
            bucket = self.stack.outputs["data_bucket"]
            self.stack.client("s3").upload_file(str(path), bucket, "cost/upload.json")

        return self.run("upload (S3)", len(records), action)

    def post(self, records: list[dict[str, Any]], batch: int, label: str) -> Run:
        from ops.send import SendOptions, send
        from ops.target import resolve_target

        def action() -> None:
            target = resolve_target(workdir=self.workdir)
            report = send(target, records, options=SendOptions(batch=batch, concurrency=8))
            if report.accepted != len(records):
                raise RuntimeError(f"{label}: {report.accepted} of {len(records)} records accepted")

        return self.run(label, len(records), action)


MEMORY = {
    "transformer": spec.TRANSFORMER_MEMORY_MB,
    "writer": spec.WRITER_MEMORY_MB,
    "error_handler": spec.ERROR_HANDLER_MEMORY_MB,
}
TIMEOUTS = {
    "transformer": spec.TRANSFORMER_TIMEOUT_SECONDS,
    "writer": spec.WRITER_TIMEOUT_SECONDS,
    "error_handler": spec.ERROR_HANDLER_TIMEOUT_SECONDS,
}


# --- Report ---------------------------------------------------------------------------------------------


def trace_rate() -> float:
    """The share of invocations X-Ray records, as the functions are deployed."""
    from infra.functions import TRACING_MODE

    return XRAY_SAMPLING_RATE if TRACING_MODE == "Active" else 0.0


class _BothPaths(TypedDict):
    """What the straightforward design's two paths share."""

    writer: WriterCost
    writer_memory_mb: int
    gb_price: str
    log_bytes_per_record: float
    trace_rate: float


def straightforward_bills(upload: Run, single: Run, gb_price: str) -> tuple[Bill, Bill]:
    """The straightforward design's bills for the upload and the API path, from the measured figures."""
    big, small = upload.functions["writer"], single.functions["writer"]
    writer = split_writer_cost(
        (sum(big.estimates()) * 1000, len(big.invocations), upload.records),
        (sum(small.estimates()) * 1000, len(small.invocations), single.records),
    )
    logs = single.log_bytes / single.records
    upload_bill = upload.bill(gb_price, trace_rate())
    producer = tuple(line for line in upload_bill.lines if line.name.startswith(("S3 ", "transformer")))
    common: _BothPaths = {
        "writer": writer,
        "writer_memory_mb": MEMORY["writer"],
        "gb_price": gb_price,
        "log_bytes_per_record": logs,
        "trace_rate": trace_rate(),
    }
    s3 = Straightforward(
        records=upload.records,
        message_bytes=upload.counts.sent_bytes / upload.records,
        write_units_per_record=upload.counts.write_units / upload.records,
        producer=producer,
        **common,
    ).bill("straightforward (S3)")
    api = Straightforward(
        records=single.records,
        message_bytes=single.counts.sent_bytes / single.records,
        write_units_per_record=single.counts.write_units / single.records,
        api_body_bytes=single.counts.api_body_bytes / single.records,
        **common,
    ).bill("straightforward (API)")
    print(
        f"writer, fitted from the two runs: {writer.per_invocation_ms:.2f} ms per invocation + "
        f"{writer.per_record_ms:.3f} ms per record (billed estimate at {MEMORY['writer']} MB)"
    )
    return s3, api


def print_counts(runs: list[Run]) -> None:
    print("\nMeasured, per 1,000 records:")
    header = f"  {'':34}" + "".join(f"{run.path:>22}" for run in runs)
    print(header)

    def row(label: str, values: list[float], digits: int = 2) -> None:
        print(f"  {label:34}" + "".join(f"{v:>22,.{digits}f}" for v in values))

    def per_k(value: float, run: Run) -> float:
        return value * 1000 / run.records

    row("records", [run.records for run in runs], 0)
    row("S3 PUT / GET requests", [per_k(r.counts.s3_put + r.counts.s3_get, r) for r in runs], 3)
    row("API requests (512 KiB units)", [per_k(r.counts.api_requests, r) for r in runs])
    for line in ("send", "receive", "delete"):
        row(f"SQS {line}: calls", [per_k(r.counts.sqs_calls[line], r) for r in runs], 3)
        row(f"SQS {line}: billed (64 KiB chunks)", [per_k(r.counts.sqs[line], r) for r in runs], 3)
    row("SQS empty receives (idle; unbilled)", [per_k(r.counts.empty_receives, r) for r in runs])
    row("bytes per message sent", [r.counts.sent_bytes / max(1, r.counts.sent_entries) for r in runs], 0)
    row("DynamoDB writes", [per_k(r.counts.writes, r) for r in runs], 1)
    row("DynamoDB write units", [per_k(r.counts.write_units, r) for r in runs], 1)
    for name in ("transformer", "writer"):
        functions = [(r.functions.get(name), r) for r in runs]

        def each(value: Callable[[FunctionRun], float]) -> list[float]:
            return [per_k(value(f), r) if f else 0.0 for f, r in functions]  # noqa: B023

        row(f"{name}: invocations", each(lambda f: len(f.invocations)), 3)
        row(f"{name}: CPU ms here", each(lambda f: f.cpu * 1000))
        row(f"{name}: billed ms, wall here", each(lambda f: f.billed_ms_wall))
        row(f"{name}: billed ms, Lambda estimate", each(lambda f: f.billed_ms))
    row("log bytes", [per_k(r.log_bytes, r) for r in runs], 0)
    row("run time, s", [r.seconds for r in runs], 1)
    for run in runs:
        extra = dict(run.counts.unpriced)
        if extra:
            print(f"  {run.path}: calls not priced (not part of the pipeline's path): {extra}")


def print_bills(bills: list[Bill], floors: dict[str, Bill]) -> None:
    print(f"\nDollars per million records (on-demand list prices, {REGION}, checked {PRICES_CHECKED}):")
    names: list[str] = []
    for bill in bills:
        names += [line.name for line in bill.lines if line.name not in names]
    names.remove(FLOOR_LINE)
    names.append(FLOOR_LINE)
    print(f"  {'':24}" + "".join(f"{bill.path:>23}" for bill in bills))
    for name in names:
        print(f"  {name:24}" + "".join(f"{bill.per_million(name):>23.4f}" for bill in bills))
    print(f"  {'total':24}" + "".join(f"{bill.per_million():>23.4f}" for bill in bills))
    print(
        f"  {'÷ floor (writes alone)':24}"
        + "".join(f"{bill.per_million() / floors[bill.path].per_million():>23.3f}" for bill in bills)
    )


def explain_excess(bill: Bill, floor_bill: Bill, run: Run) -> None:
    """Which line keeps the upload path above the target, and how far it must fall."""
    excess = bill.per_million() - TARGET_RATIO * floor_bill.per_million()
    extras = sorted(
        ((bill.per_million(line.name), line.name) for line in bill.lines if line.name != FLOOR_LINE),
        reverse=True,
    )
    overhead = bill.per_million() - floor_bill.per_million()
    print(
        f"  above the floor: ${overhead:.4f} per million; largest items: "
        + ", ".join(f"{name} ${usd:.4f} ({usd / overhead:.0%})" for usd, name in extras[:3])
    )
    usd, name = extras[0]
    if excess <= 0:
        growth = -excess / usd
        print(f"  headroom: {name} could grow by {growth:.0%} before the upload path crosses {TARGET_RATIO}×")
        return
    print(f"  to reach {TARGET_RATIO}× the overhead must fall by ${excess:.4f} per million records")
    if name.endswith("GB-s"):
        function = run.functions[name.split()[0]]
        per_record_ms = function.billed_ms / run.records
        cpu_us = function.cpu * 1e6 / run.records
        keep = max(0.0, 1 - excess / usd)
        print(
            f"  {name} dominates: {per_record_ms:.2f} billed ms per record at {function.memory_mb} MB "
            f"({cpu_us:.0f} µs of CPU per record here); it must fall to ≤ {per_record_ms * keep:.2f} ms "
            f"per record (≤ {cpu_us * keep:.0f} µs of CPU per record here)"
        )


def check_deadlines(upload: Run) -> None:
    """Estimated durations against the deployed timeouts, and the writer's full batch of envelopes.

    Below one vCPU a CPU-bound function's GB-seconds do not depend on its memory (twice the memory, half the
    duration), so the memory at which a full batch fits the timeout costs the same per record."""
    for name, function in upload.functions.items():
        worst = max(function.estimates())
        timeout = function.timeout_seconds
        print(f"  {name}: longest invocation, Lambda estimate {worst:.2f} s (timeout {timeout} s)")
    writer = upload.functions.get("writer")
    if writer and upload.counts.sent_entries:
        per_message = upload.records / upload.counts.sent_entries
        per_record = sum(writer.estimates()) / upload.records
        full = spec.DEFAULT_WRITER_BATCH_SIZE * per_message * per_record
        verdict = "over" if full > writer.timeout_seconds else "within"
        print(
            f"  writer: a full batch ({spec.DEFAULT_WRITER_BATCH_SIZE} envelopes × {per_message:,.0f} "
            f"records) ≈ {full:.1f} s at {writer.memory_mb} MB: {verdict} its "
            f"{writer.timeout_seconds} s timeout"
        )
        needed = writer.memory_mb * full / writer.timeout_seconds
        if full > writer.timeout_seconds and needed <= LAMBDA_MB_PER_VCPU:
            print(f"  it would fit from ≈ {math.ceil(needed)} MB, at the same GB-s per record (CPU-bound)")
        elif full > writer.timeout_seconds:
            at_one_vcpu = full * writer.memory_mb / LAMBDA_MB_PER_VCPU
            print(f"  even at one vCPU ({LAMBDA_MB_PER_VCPU} MB) it would take ≈ {at_one_vcpu:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000, help="records for the upload and batched runs")
    parser.add_argument("--single-records", type=int, default=None, help="records POSTed one by one")
    parser.add_argument("--batch", type=int, default=100, help="records per POST in the batched run")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="handlers' calls straight into the emulator (faster; leaves out the HTTP client's CPU)",
    )
    args = parser.parse_args()
    single_records = args.single_records or max(100, args.records // 10)

    recorder = CallRecorder()
    recorder.install()  # before any botocore session exists: every client gets the hooks
    threading.Thread.start = _start_with_owner  # type: ignore[method-assign]
    from local_stack.stack import LocalStack

    # the role the local stack gives each function (its outputs key without _function) -> the handler it runs
    handlers = {row.key.removesuffix("_function"): row.handler for row in spec.FUNCTIONS}

    emulator_cpu = EmulatorCpu()
    meters = {name: FunctionMeter(name, handlers[name], MEMORY[name], emulator_cpu) for name in handlers}
    gb_price = lambda_gb_price(spec.LAMBDA_ARCHITECTURE)
    load = os.getloadavg()
    print(
        f"cost bench: {args.records:,} records uploaded, {single_records:,} POSTed one by one, "
        f"{args.records:,} POSTed {args.batch} per request; handlers' calls "
        f"{'in-process' if args.in_process else 'over HTTP'}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as directory:
        workdir = Path(directory)
        stack = LocalStack(workdir, fresh=True, handlers=dict(meters), in_process=args.in_process)
        with stack:
            bridge = stack._bridge  # the in-process road: time moto's share of the handlers' threads
            if bridge is not None:
                bridge.send = emulator_cpu.wrap(bridge.send)  # type: ignore[method-assign,assignment]
            resources = stack.resources
            recorder.watch(
                writer_queue_url=resources.writer_queue_url,
                dlq_url=resources.dlq_url,
                notification_queue_url=resources.notification_queue_url,
            )
            bench = Bench(stack, workdir, recorder, meters)
            runs = [
                bench.upload(valid_records(args.records, "cost-up")),
                bench.post(valid_records(single_records, "cost-one"), 1, "API, 1 per POST"),
                bench.post(
                    valid_records(args.records, "cost-many"), args.batch, f"API, {args.batch} per POST"
                ),
            ]
    upload, single, _ = runs
    incomplete = [f"{run.path}: {run.written} of {run.records}" for run in runs if run.written != run.records]

    print_counts(runs)
    print()
    bills = [run.bill(gb_price, trace_rate()) for run in runs]
    models = straightforward_bills(upload, single, gb_price)
    floors = {bill.path: floor(bill) for bill in [*bills, *models]}
    print_bills([*bills, *models], floors)

    upload_bill = bills[0]
    ratio = upload_bill.per_million() / floors[upload_bill.path].per_million()
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\nupload path ÷ floor = {ratio:.3f}  (target ≤ {TARGET_RATIO}: {verdict})")
    explain_excess(upload_bill, floors[upload_bill.path], upload)
    doubled = upload_bill.per_million() + sum(
        upload_bill.per_million(line.name) for line in upload_bill.lines if line.name.endswith("GB-s")
    )
    print(
        f"  if a Lambda vCPU did half the work of a core here (GB-s doubled): "
        f"{doubled / floors[upload_bill.path].per_million():.3f}"
    )
    for bill, model in ((upload_bill, models[0]), (bills[1], models[1]), (bills[2], models[1])):
        print(f"{bill.path} ÷ straightforward = {bill.per_million() / model.per_million():.3f}")
    print("\nDeadlines (estimates):")
    check_deadlines(upload)
    prices = ", ".join(f"{key} ${price.usd:g}/{price.per:,}" for key, price in PRICES.items())
    print(f"\nprices: {prices}")
    print(
        f"CPU estimate assumes one core here = one Lambda vCPU; median writer invocation CPU here "
        f"{statistics.median(i.cpu for i in upload.functions['writer'].invocations) * 1000:.0f} ms"
    )
    if incomplete:
        print("ERROR: not every record was written: " + "; ".join(incomplete), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
