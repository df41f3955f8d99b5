"""Where moto would play Lambda's service itself, handed to the local stack instead, and one thing it drops.

moto runs a function through Docker when S3 notifies it, and, inside ``SendMessage``, polls a queue that has
an event source mapping and invokes the function (again through Docker), deleting or re-showing the
messages. Neither can run here, and the second would consume WriterQueue behind the dispatcher's back (each
failed Docker attempt counts as a receive: with ``maxReceiveCount`` 1, the next receive moves the message to
the DLQ). So:

* S3 → function: moto still matches each event against the bucket's notification configuration (events,
  prefix, suffix — as the program declared them); what it would hand to Docker goes to the router the local
  stack installs (:func:`route_s3_invokes`), i.e. to Lambda's asynchronous-invoke queue stand-in.
* Queue → function: the mapping stays in moto's Lambda state (``ListEventSourceMappings`` shows it, the
  dispatcher reads it from there) but is detached from moto's queue objects (:func:`detach_moto_pollers`).
* A mapping to an alias: moto stores the version the alias points at when the mapping is created
  (``…:writer:1``), where AWS keeps the alias (``…:writer:live``) and resolves it on every invocation. The
  declared target is put back (:func:`keep_mapping_target`), so the dispatcher follows the alias when
  CodeDeploy (or anyone) moves it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

S3Router = Callable[[str, dict[str, Any]], None]
"""``(function ARN, S3 event)``: what S3 would invoke asynchronously."""

logger = logging.getLogger("local_stack.moto_hooks")

_lock = threading.Lock()
_router: S3Router | None = None
_installed = False


def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    router = _router
    if router is None:
        logger.warning("S3 event for %s while no local stack runs: dropped", fn_arn)
        return
    router(fn_arn, event_body)


def install() -> None:
    """Replace moto's Docker paths (idempotent). Fails loudly if moto changed where they are."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.core.config import default_user_config
        from moto.s3 import notifications

        if not hasattr(notifications, "_invoke_awslambda"):
            raise RuntimeError(
                "moto.s3.notifications._invoke_awslambda is gone: update local_stack.moto_hooks"
            )
        notifications._invoke_awslambda = _invoke_awslambda
        # Anything else that would invoke a function gets moto's no-Docker answer instead of a Docker error.
        default_user_config["lambda"]["use_docker"] = False
        _installed = True


def route_s3_invokes(router: S3Router | None) -> None:
    """Send S3's function invocations to ``router`` (None: drop them, logged)."""
    global _router
    install()
    _router = router


def detach_moto_pollers() -> None:
    """Unhook every event source mapping from moto's queue objects (they stay in moto's Lambda state)."""
    from moto.sqs.models import sqs_backends

    for account in list(sqs_backends.keys()):
        for region in list(sqs_backends[account].keys()):
            for queue in sqs_backends[account][region].queues.values():
                queue.lambda_event_source_mappings.clear()


def keep_mapping_target(uuid: str, function_arn: str) -> None:
    """Make the event source mapping ``uuid`` invoke ``function_arn`` as declared (an alias stays one)."""
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    # Without Docker (install() turns it off) moto serves Lambda from its "simple" backends.
    for backends in (lambda_simple_backends, lambda_backends):
        for account in list(backends.keys()):
            for region in list(backends[account].keys()):
                mapping = backends[account][region].get_event_source_mapping(uuid)
                if mapping is not None:
                    mapping.function_arn = function_arn
                    return
    raise RuntimeError(
        f"event source mapping {uuid} is not in moto's Lambda state: update local_stack.moto_hooks"
    )
