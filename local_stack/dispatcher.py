"""Stand-ins for Lambda's pollers: threads that receive from a queue, invoke the real handler, acknowledge.

Semantics copied from Lambda, because the pipeline's failure handling depends on them:

* SQS event source mapping (WriterQueue → writer, DLQ → error handler): batches of up to ``batch_size``
  messages; the handler's ``{"batchItemFailures": [...]}`` is honoured — every other message is deleted, the
  reported ones are not. A handler that raises, or reports an id that is not in the batch, fails the whole
  batch.
* What stays in the queue is made visible again at once (``ChangeMessageVisibility 0``) instead of after the
  visibility timeout: with ``maxReceiveCount`` 1 the next receive moves it to the DLQ, and moto's redrive only
  happens on a receive (moto's redrive is lazy).
* One execution environment per function: invocations of one function never overlap, as in one Lambda
  sandbox. The handlers keep per-invocation state at module level (Powertools' batch processor and metrics),
  which Lambda allows and a thread pool of concurrent invocations in one process would corrupt. Functions
  run concurrently with each other.
* S3 → transformer is an asynchronous invoke in AWS: the notification waits in an internal queue, the key is
  passed on encoded as S3 encodes it, and a handler that raises is retried twice more (Lambda's async retry
  policy) before the event is given up — then, as the Pulumi program's on-failure destination does in AWS,
  Lambda's invocation record (the event, the condition, the last error) goes to the DLQ, where the error
  handler records it in LogTable. Counted, and logged to the functions' log: never silent.

Queues are polled continuously (moto's SQS slows down with depth) with 1-second long polls: moto wakes a
waiting receive as soon as a message is sent, an idle poller costs one request a second (short polls in a
loop cost the emulator, which shares the GIL with everything here, about half its write rate), and shutdown
takes at most a second. A message made visible again is not a wake-up in moto: it is taken by the next poll.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from local_stack.runtime import LambdaContext, apply_environment, mark_handler_thread, route_logs_of

Handler = Callable[[dict[str, Any], Any], Any]

_IMPORTS = threading.Lock()

POLL_WAIT_SECONDS = 1
ERROR_SLEEP_SECONDS = 0.2

logger = logging.getLogger("local_stack.dispatcher")


@dataclass(frozen=True)
class Route:
    """One event source: a queue, the function it feeds, and how."""

    name: str
    """Counter prefix and thread name: ``transformer``, ``writer``, ``error_handler``."""
    queue_url: str
    queue_arn: str
    handler: str | Handler
    """``module.path.function`` (imported on first use, as Lambda does at cold start) or a callable."""
    function_name: str
    timeout_seconds: int
    memory_mb: int
    batch_size: int = 10
    workers: int = 1
    s3_notifications: bool = False
    """The queue holds S3 notifications: invoke asynchronously with an S3 event, one at a time."""
    alias: str | None = None
    on_failure_queue_url: str | None = None
    """Asynchronous invokes only: where a given-up event's invocation record goes (Lambda's on-failure
    destination)."""
    max_attempts: int = 3
    """Asynchronous invokes only: 1 + the function's ``MaximumRetryAttempts``."""
    report_failures: bool = True
    """The mapping's ``FunctionResponseTypes`` holds ``ReportBatchItemFailures``: without it Lambda ignores a
    ``batchItemFailures`` answer and deletes the whole batch."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """The function's own variables (from its configuration) and what Lambda sets."""
    target: Callable[[], Target] | None = None
    """Asked before each invocation when the route invokes an alias: the version to run, with its own
    environment (``local_stack.aliases``). None: ``$LATEST`` with ``environment``."""


@dataclass(frozen=True)
class Target:
    """What one invocation runs: a version of the function and the environment that version has."""

    version: str
    environment: Mapping[str, str]
    unset: frozenset[str] = frozenset()
    """Variables another version sets and this one does not (removed from the process while it runs)."""


class Counters:
    """Thread-safe named counters (invocations, messages, failures per route)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


class Dispatcher:
    """Runs one polling thread per route worker until :meth:`stop`."""

    def __init__(
        self,
        *,
        sqs: Any,
        routes: list[Route],
        region: str,
        counters: Counters | None = None,
    ) -> None:
        self._sqs = sqs
        self._routes = routes
        self._region = region
        self.counters = counters or Counters()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy_lock = threading.Lock()
        self._busy: dict[str, int] = {}
        self._handlers: dict[str, Handler] = {}
        self._environments = {route.name: threading.Lock() for route in routes}
        """One lock per function: its single execution environment."""

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        for route in self._routes:
            for worker in range(route.workers):
                thread = threading.Thread(
                    target=self._poll, args=(route,), name=f"local-{route.name}-{worker}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop polling; a batch being handled is finished (and acknowledged) first."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [thread for thread in self._threads if thread.is_alive()]

    def busy(self) -> list[str]:
        """Routes with a handler running right now."""
        with self._busy_lock:
            return sorted(name for name, count in self._busy.items() if count)

    # --- polling -----------------------------------------------------------------------------------------

    def _poll(self, route: Route) -> None:
        batch_size = 1 if route.s3_notifications else route.batch_size
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=route.queue_url,
                    MaxNumberOfMessages=batch_size,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                ).get("Messages", [])
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("receive from %s failed", route.queue_url)
                self._stop.wait(ERROR_SLEEP_SECONDS)
                continue
            if not messages:
                continue
            self._mark(route.name, +1)
            try:
                if route.s3_notifications:
                    self._deliver_notification(route, messages[0])
                else:
                    self._deliver_batch(route, messages)
            except Exception:
                logger.exception("dispatching to %s failed", route.name)
            finally:
                self._mark(route.name, -1)

    def _mark(self, name: str, delta: int) -> None:
        with self._busy_lock:
            self._busy[name] = self._busy.get(name, 0) + delta

    # --- SQS event source mapping --------------------------------------------------------------------------

    def _deliver_batch(self, route: Route, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._sqs_record(route, message) for message in messages]}
        self.counters.add(f"{route.name}.messages", len(messages))
        ids = {message["MessageId"] for message in messages}
        failed: set[str]
        try:
            response = self._invoke(route, event)
        except Exception:
            failed = ids
        else:
            failed = failed_message_ids(response, ids) if route.report_failures else set()
        done = [message for message in messages if message["MessageId"] not in failed]
        retry = [message for message in messages if message["MessageId"] in failed]
        self.counters.add(f"{route.name}.failed_messages", len(retry))
        self._acknowledge(route.queue_url, done)
        self._release(route.queue_url, retry)

    def _sqs_record(self, route: Route, message: dict[str, Any]) -> dict[str, Any]:
        """One record of the SQS event Lambda builds from a received message."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: lambda_message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": route.queue_arn,
            "awsRegion": self._region,
        }

    def _acknowledge(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages, 10):
            self._sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    def _release(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        for chunk in _chunks(messages, 10):
            self._sqs.change_message_visibility_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    # --- S3 → transformer (asynchronous invoke) ------------------------------------------------------------

    def _deliver_notification(self, route: Route, message: dict[str, Any]) -> None:
        body = message["Body"]
        try:
            event = s3_event(json.loads(body))
        except (ValueError, KeyError, TypeError):
            logger.error("unreadable S3 notification, dropped: %.200s", body)
            self.counters.add(f"{route.name}.given_up")
            self._acknowledge(route.queue_url, [message])
            return
        self.counters.add(f"{route.name}.objects", len(event["Records"]))
        try:
            self._invoke(route, event)
        except Exception as error:
            attempts = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if attempts < route.max_attempts:
                self._release(route.queue_url, [message])
                return
            keys = [record["s3"]["object"]["key"] for record in event["Records"]]
            logger.error("%s failed %d times on %s; event given up", route.function_name, attempts, keys)
            self.counters.add(f"{route.name}.given_up")
            if route.on_failure_queue_url:
                record = invocation_record(route, event, error, attempts=attempts, region=self._region)
                # Sent before the notification is deleted: a crash in between repeats the record, never
                # loses it (the error handler stores one LogTable item per DLQ message id).
                self._sqs.send_message(QueueUrl=route.on_failure_queue_url, MessageBody=json.dumps(record))
        self._acknowledge(route.queue_url, [message])

    # --- invocation ---------------------------------------------------------------------------------------

    def _invoke(self, route: Route, event: dict[str, Any]) -> Any:
        # An alias is resolved per invocation, as Lambda does: a shifted alias runs its new version at once.
        target = route.target() if route.target is not None else Target("$LATEST", route.environment)
        context = LambdaContext(
            function_name=route.function_name,
            timeout_seconds=route.timeout_seconds,
            memory_limit_in_mb=route.memory_mb,
            region=self._region,
            alias=route.alias,
            function_version=target.version,
        )
        with self._environments[route.name]:
            apply_environment(target.environment, unset=target.unset)
            self.counters.add(f"{route.name}.invocations")
            mark_handler_thread(True)
            try:
                return self._handler(route, target.environment)(event, context)
            except Exception:
                self.counters.add(f"{route.name}.errors")
                # As in Lambda, the traceback lands in the function's log, not on the operator's terminal.
                logging.getLogger(f"local_stack.functions.{route.name}").exception(
                    "%s raised", route.function_name
                )
                raise
            finally:
                mark_handler_thread(False)

    def _handler(self, route: Route, environment: Mapping[str, str]) -> Handler:
        """The route's handler; imported on first use with ``environment``, the invoked version's."""
        if callable(route.handler):
            return route.handler
        handler = self._handlers.get(route.name)
        if handler is None:
            module_name, _, attribute = route.handler.rpartition(".")
            with _IMPORTS:  # a cold start: the module reads its function's variables as it is imported
                apply_environment(environment)
                module = importlib.import_module(module_name)
                route_logs_of(module)
                handler = getattr(module, attribute)
            self._handlers[route.name] = handler
        return handler


def invocation_record(
    route: Route, event: Mapping[str, Any], error: BaseException, *, attempts: int, region: str
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination for an asynchronous invoke it gave up on.

    Same shape as AWS's (``requestContext.condition`` ``RetriesExhausted``, ``requestPayload`` = the event,
    ``responsePayload`` = the error), so the error handler reads it the same way in both places.
    """
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"
    return {
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{region}:123456789012:function:{route.function_name}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
        },
    }


def failed_message_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """The message ids to keep from a handler's partial-batch response, read the way Lambda reads it.

    No response or no ``batchItemFailures`` means all succeeded; an entry without a valid id from the batch
    means the whole batch failed.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in response["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return set(batch_ids)
        failed.add(identifier)
    return failed


def lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute as Lambda's event shows it (camelCase, binary as base64)."""
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def s3_event(notification: Mapping[str, Any]) -> dict[str, Any]:
    """The event S3 gives Lambda, from the notification S3 sent the queue.

    moto encodes ``/`` in keys as ``%2F`` where S3 keeps it; keys are passed on as S3 encodes them
    (plus for space, ``/`` kept), and the handler decodes them with ``unquote_plus`` either way.
    """
    records = []
    for record in notification["Records"]:
        record = json.loads(json.dumps(record))
        obj = record["s3"]["object"]
        obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        records.append(record)
    return {"Records": records}


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
