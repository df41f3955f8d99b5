"""``LocalStack``: the Pulumi program applied to the emulator, served by the dispatcher and the API stand-in.

The Python API the CLI, the tests, the demo and the benchmarks use. ``start`` runs the emulator, applies
``__main__.py`` to it (``local_stack.deploy``: Pulumi's engine in test mode, every resource a real API call),
reads the wiring back from the emulator (``local_stack.discovery``), then serves it: the dispatcher polls what
the event source mappings and the bucket notifications name, with each function's own configuration; the API
stand-in serves the HTTP API's route as its integration says. The outputs document is the program's exports,
with the two local addresses (``api_url`` of the stand-in, ``endpoint_url`` of the emulator).

moto's state lives in the process: stopping keeps it, and a later start in the same process (same program
and config) finds the deployment and resumes with whatever was still queued, as a redeployed Lambda finds
its queues. Across processes (``persist=True``, as ``pipeline-ctl local up`` runs it) the state is saved on a
clean stop and restored on the next start (``local_stack.persistence``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

from infra import spec
from infra.private_files import write_private
from infra.sessions import LOCAL_CREDENTIALS
from local_stack import deploy_cache, moto_hooks, persistence, snapshot
from local_stack.aliases import AliasResolver
from local_stack.api import ApiServer
from local_stack.deployment import Deployment, Tamper, stack_config
from local_stack.discovery import Wiring, discover
from local_stack.dispatcher import Counters, Dispatcher, Handler, Route, Target
from local_stack.faults import FaultSwitch
from local_stack.inprocess import InProcessBridge, attach, detach
from local_stack.runtime import install_function_output, lambda_environment, uninstall_function_output
from local_stack.server import EmulatorServer, PutItemWatch, WriteTally
from local_stack.session import local_client
from local_stack.snapshot import wipe_backends

FUNCTION_LOG_PATH = spec.LOCAL_FUNCTION_LOG_PATH
"""Where the handlers' stdout (Powertools logs, EMF metrics) goes: the local stand-in for CloudWatch Logs.
Owner-only (0600): it quotes record values."""

PROGRAM_STACK = "dev"
"""Whose ``Pulumi.<stack>.yaml`` the local stack applies (``local`` itself is reserved by the program)."""

CONFIG_OVERRIDES: dict[str, str | None] = {"apiAuth": "NONE"}
"""The one setting the local stack changes: the stand-in cannot check SigV4 signatures (moto checks none), so
the route is declared open rather than pretending to be signed. The rehearsal tests apply the committed
``AWS_IAM`` config as well."""

DEFAULT_WRITER_WORKERS = 1
"""Writer pollers. One, because the writer has one execution environment here (see ``dispatcher``):
a second poller would only hold messages in flight while it waits its turn."""


T = TypeVar("T")

NOT_STARTED = "the local stack has not been started"


def _running(value: T | None, *, refusal: str = "the local stack is not running") -> T:
    """``value``, which is set only while the stack runs; ``RuntimeError(refusal)`` when it is not."""
    if value is None:
        raise RuntimeError(refusal)
    return value


@dataclass(frozen=True)
class LocalResources:
    """Names, URLs and ARNs the tests and panels use, taken from the outputs and the discovered wiring."""

    data_bucket: str
    writer_queue_url: str
    writer_queue_arn: str
    dlq_url: str
    dlq_arn: str
    notification_queue_url: str
    notification_queue_arn: str
    account_table: str
    log_table: str


def wipe_emulator() -> None:
    """Forget every bucket, queue and item moto holds in this process (what ``/moto-api/reset`` does)."""
    wipe_backends()


_CURRENT = snapshot.HELD
"""What the in-process emulator holds: ``key`` (program stack + config) and its ``deployment``."""


def multipart_echo(record: Mapping[str, Any]) -> bool:
    """moto sends, beside a multipart upload's ``ObjectCreated:CompleteMultipartUpload``, an
    ``ObjectCreated:Put`` for the same object (another event time); S3 sends only the first. A ``Put`` whose
    ETag has the multipart form (``<md5>-<parts>``) is that echo: a PutObject never yields one. Passed on,
    it would make the Transformer read the file twice, rewrite every record under a newer ingestion order and
    log every invalid one twice."""
    if record.get("eventName") != "ObjectCreated:Put":
        return False
    etag = str(((record.get("s3") or {}).get("object") or {}).get("eTag") or "")
    head, _, parts = etag.strip('"').rpartition("-")
    return bool(head) and parts.isdigit()


class LocalStack:
    """The whole pipeline on 127.0.0.1. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    The deployment comes from the deploy cache when the program is unchanged (``local_stack.deploy_cache``;
    ``apply=True`` always runs Pulumi's engine). ``persist=True`` (``pipeline-ctl local up``) saves the state
    on a clean stop and restores it on the next start (``local_stack.persistence``; ``fresh`` discards it);
    what happened is in :attr:`notices`.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int = 0,
        api_port: int = 0,
        write_outputs: bool = True,
        handlers: Mapping[str, str | Handler] | None = None,
        writer_workers: int = DEFAULT_WRITER_WORKERS,
        in_process: bool = True,
        fresh: bool = False,
        program_stack: str = PROGRAM_STACK,
        config: Mapping[str, str | None] | None = None,
        tamper: Tamper | None = None,
        apply: bool = False,
        persist: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self._port = port
        self._api_port = api_port
        self._write_outputs = write_outputs
        self._handlers: dict[str, str | Handler] = dict(handlers or {})
        self._writer_workers = writer_workers
        self.program_stack = program_stack
        self.config = stack_config(program_stack, {**CONFIG_OVERRIDES, **(config or {})})
        self._tamper = tamper
        self._apply_always = apply
        self._persist = persist
        self._environ_before: dict[str, str | None] = {}
        self._program_key: str | None = None
        self._serving = False
        self._restored = False
        self.notices: list[str] = []
        """Lines for the user about the saved state: restored, discarded, lost in a crash, saved."""
        self.faults = FaultSwitch()
        self._tally = WriteTally()
        self._watch = PutItemWatch(faults=self.faults, tally=self._tally)
        self._in_process = in_process
        self._fresh = fresh
        self._bridge: InProcessBridge | None = None
        self._handler_endpoint: str | None = None
        self._counters = Counters()
        self._emulator: EmulatorServer | None = None
        self._api: ApiServer | None = None
        self._dispatcher: Dispatcher | None = None
        self._resources: LocalResources | None = None
        self._sqs: Any = None
        self._outputs: dict[str, str] | None = None
        self._log_file: IO[str] | None = None
        self._log_handler: logging.Handler | None = None
        self._stdout = False
        self.deployment: Deployment | None = None
        self.wiring: Wiring | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._emulator is not None

    def start(self) -> None:
        if self.running:
            return
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.notices = []
        self._restored = False
        if self._persist:
            lost = persistence.unclean_stop(self.outputs_path)
            if lost:
                self.notices.append(lost)
                persistence.discard(self.state_path, "left before that run")
        self._open_function_log()
        self._emulator = EmulatorServer(port=self._port, watch=self._watch)
        self._emulator.start()
        endpoint = self._emulator.endpoint_url
        region = self.config.get("aws:region") or "us-east-1"
        moto_hooks.install()
        self.deployment = self._deploy(endpoint)
        exports = self.deployment.exports
        self._sqs = local_client("sqs", endpoint, region=region)
        moto_hooks.detach_moto_pollers()
        assert self.deployment.wiring is not None
        wiring = self.wiring = self.deployment.wiring
        self._watch.watch_tables(account_table=exports["account_table"], log_table=exports["log_table"])
        self._resources = self._local_resources(wiring, exports)
        moto_hooks.route_s3_invokes(self._route_s3_event)
        handler_endpoint = endpoint
        if self._in_process:
            self._bridge = InProcessBridge(self._emulator.port, watch=self._watch)
            attach(self._bridge)
            handler_endpoint = self._bridge.endpoint_url
        self._handler_endpoint = handler_endpoint
        if len(wiring.api_routes) != 1:
            raise RuntimeError(
                f"the program declares {len(wiring.api_routes)} API routes; the stand-in serves one"
            )
        self._api = ApiServer(port=self._api_port, sqs=self._sqs, route=wiring.api_routes[0])
        self._api.start()
        routes = self._routes(wiring, handler_endpoint, region)
        # The functions' variables go into os.environ as they run (runtime.apply_environment): on stop the
        # process gets its own values back, so nothing else in it (a test, a CLI command) inherits them.
        self._environ_before = {name: os.environ.get(name) for route in routes for name in route.environment}
        self._dispatcher = Dispatcher(
            sqs=local_client("sqs", endpoint, region=region),
            routes=routes,
            region=region,
            counters=self._counters,
        )
        self._dispatcher.start()
        self._outputs = self._make_outputs(endpoint, self._api.url, exports)
        if self._write_outputs:
            self._save_outputs(self._outputs)
        self._serving = True
        if self._restored:
            persistence.consumed(self.state_path)

    def _deploy(self, endpoint: str) -> Deployment:
        """Apply the program, unless this process's emulator already holds it (same program and config; with
        ``persist`` the saved state decides instead), or the saved state or the deploy cache has it."""
        key = json.dumps([self.program_stack, sorted(self.config.items())])
        fresh, self._fresh = self._fresh, False  # only before this object's first start
        if self._persist and fresh:
            notice = persistence.discard(self.state_path, "--fresh")
            if notice:
                self.notices.append(notice)
        if not fresh and not self._persist and self._tamper is None and _CURRENT.get("key") == key:
            held: Deployment = _CURRENT["deployment"]
            return held
        wipe_emulator()
        if self._tamper is not None:  # a broken variant: applied, never cached
            return self._apply(endpoint)
        cache_key = self._program_key = deploy_cache.program_key(self.program_stack, self.config)
        started = time.perf_counter()
        deployment = None
        if self._persist:
            restored = persistence.restore(self.state_path, key=cache_key, endpoint=endpoint)
            if restored.notice:
                self.notices.append(restored.notice)
            deployment = restored.deployment
            self._restored = deployment is not None
        if deployment is None and not self._apply_always:
            deployment = deploy_cache.replay(cache_key, endpoint=endpoint)
        if deployment is not None:
            deployment.seconds = time.perf_counter() - started
        else:
            deployment = self._apply(endpoint)
            deploy_cache.store(cache_key, deployment, endpoint=endpoint)
        _CURRENT.update(key=key, deployment=deployment)
        return deployment

    def _apply(self, endpoint: str) -> Deployment:
        from local_stack.deploy import deploy  # Pulumi's engine: imported only when it runs

        deployment = deploy(endpoint, stack=self.program_stack, config=self.config, tamper=self._tamper)
        region = self.config.get("aws:region") or "us-east-1"
        clients = {
            service: local_client(service, endpoint, region=region)
            for service in ("lambda", "sqs", "s3", "apigatewayv2")
        }
        moto_hooks.detach_moto_pollers()
        deployment.wiring = discover(clients, deployment.exports)
        return deployment

    def _route_s3_event(self, function_arn: str, event: dict[str, Any]) -> None:
        """S3 invokes a function asynchronously: the event joins that function's async-invoke queue."""
        from moto.s3.notifications import _send_sqs_message

        wiring = self.wiring
        name = function_arn.split(":")[6] if function_arn.count(":") >= 6 else function_arn
        target = next((t for t in wiring.async_targets if t.function.name == name), None) if wiring else None
        if target is None:
            logging.getLogger("local_stack.dispatcher").error(
                "S3 event for unknown function %s", function_arn
            )
            self._counters.add("s3.unrouted")
            return
        records = event.get("Records")
        if isinstance(records, list) and records:
            kept = [record for record in records if not multipart_echo(record)]
            if not kept:
                self._counters.add("s3.multipart_echo_dropped")
                return
            event = {**event, "Records": kept}
        account, queue = target.queue_arn.split(":")[4], target.queue_arn.split(":")[5]
        _send_sqs_message(account, event, queue, target.queue_arn.split(":")[3])

    def stop(self) -> None:
        """Stop serving; moto's state (buckets, queued messages, items) stays in the process, and with
        ``persist`` is also saved to :attr:`state_path` for the next start in another process."""
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self._serving and self._persist:
            self._save_state()
        self._serving = False
        for name, value in self._environ_before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._environ_before = {}
        if self._bridge is not None:
            detach(self._bridge)
            self._bridge = None
        moto_hooks.route_s3_invokes(None)
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None
        if self._write_outputs and self._outputs is not None:
            self._remove_outputs(self._outputs)
        self._outputs = None
        self._close_function_log()

    def _save_state(self) -> None:
        assert self._emulator is not None and self.deployment is not None
        key = self._program_key or deploy_cache.program_key(self.program_stack, self.config)
        try:
            summary = persistence.save(
                self.state_path, key=key, deployment=self.deployment, endpoint=self._emulator.endpoint_url
            )
        except (snapshot.SnapshotError, OSError) as error:
            self.notices.append(f"The local state was not saved: {error}")
            return
        self.notices.append(f"Saved the local state ({persistence.describe(summary)}) to {self.state_path}.")

    @property
    def state_path(self) -> Path:
        return self.workdir / persistence.STATE_PATH

    # --- what others read ----------------------------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, str]:
        """The stack outputs document (``docs/design.md``), with ``endpoint_url``."""
        return dict(_running(self._outputs))

    @property
    def resources(self) -> LocalResources:
        return _running(self._resources, refusal=NOT_STARTED)

    @property
    def endpoint_url(self) -> str:
        return self.outputs["endpoint_url"]

    @property
    def api_url(self) -> str:
        return self.outputs["api_url"]

    @property
    def api(self) -> ApiServer:
        """The API Gateway stand-in (its ``max_backlog`` can be changed while running)."""
        return _running(self._api)

    @property
    def handler_endpoint_url(self) -> str:
        """The handlers' ``AWS_ENDPOINT_URL``: the in-process road (``inprocess``) when it is on."""
        return _running(self._handler_endpoint)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator (fake credentials, fixed region)."""
        return local_client(service, self.endpoint_url, region=self.outputs["region"])

    def counters(self) -> dict[str, int]:
        """What happened since this object was created: DynamoDB answers, invocations, API bodies accepted.

        ``written`` / ``stale`` / ``logged`` count AccountTable writes that succeeded / failed their condition
        and LogTable items stored; ``faulted`` counts writes the fault switch refused (SDK retries included).
        """
        values = {f"dynamodb.{name}": count for name, count in self._tally.snapshot().items()}
        values.update(self._counters.snapshot())
        values["api.accepted"] = self._api.accepted if self._api else 0
        values["api.throttled"] = self._api.throttled if self._api else 0
        values["inprocess.requests"] = self._bridge.requests if self._bridge else 0
        return values

    def queue_depths(self) -> dict[str, dict[str, int]]:
        """Visible and in-flight messages per polled queue (``writer``, ``error_handler``, ``async-...``)."""
        wiring = _running(self.wiring, refusal=NOT_STARTED)
        depths = {}
        for name, url in wiring.queue_urls().items():
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[name] = {
                "visible": int(attributes["ApproximateNumberOfMessages"]),
                "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
            }
        return depths

    def busy(self) -> list[str]:
        """What is still going on: non-empty queues and running handlers, in words."""
        dispatcher = _running(self._dispatcher)
        reasons = [
            f"{name} queue holds {depth['visible']} visible + {depth['in_flight']} in-flight messages"
            for name, depth in self.queue_depths().items()
            if depth["visible"] or depth["in_flight"]
        ]
        reasons += [f"{name} handler running" for name in dispatcher.busy()]
        return reasons

    def wait_until_idle(self, timeout: float = 60) -> None:
        """Return once every queue is empty and no handler runs (seen twice in a row); else TimeoutError."""
        deadline = time.monotonic() + timeout
        quiet = 0
        pause = 0.05
        while True:
            reasons = self.busy()
            quiet = 0 if reasons else quiet + 1
            if quiet >= 2:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"local stack still busy after {timeout:g}s: {'; '.join(reasons)}")
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            # Each look costs moto a scan of every queued message (GetQueueAttributes): look often while a
            # wait is short, less and less often while a deep queue drains.
            pause = 0.05 if not reasons else min(pause * 1.5, 0.5)

    # --- internals ----------------------------------------------------------------------------------------

    def _routes(self, wiring: Wiring, endpoint: str, region: str) -> list[Route]:
        """The dispatcher's routes: one per event source mapping and per async-invoked function."""

        def environment(
            function: Any, variables: Mapping[str, str], version: str = "$LATEST"
        ) -> dict[str, str]:
            return lambda_environment(
                variables,
                function_name=function.name,
                memory_mb=function.memory,
                endpoint_url=endpoint,
                region=region,
                credentials=LOCAL_CREDENTIALS,
                version=version,
            )

        def target_of(function: Any, qualifier: str | None) -> Callable[[], Target] | None:
            """Per invocation: the version ``qualifier`` (an alias) resolves to, with its variables."""
            if qualifier is None:
                return None
            resolver = AliasResolver(
                local_client("lambda", endpoint, region=region),
                function_name=function.name,
                qualifier=qualifier,
            )

            def target() -> Target:
                resolved = resolver.resolve()
                return Target(
                    resolved.version,
                    environment(function, resolved.variables, resolved.version),
                    resolved.unset,
                )

            return target

        def route(function: Any, queue_url: str, queue_arn: str, **trigger: Any) -> Route:
            """What every route of ``function`` carries, plus ``trigger``: how its events arrive."""
            return Route(
                name=function.role,
                queue_url=queue_url,
                queue_arn=queue_arn,
                handler=self._handlers.get(function.role, function.handler),
                function_name=function.name,
                timeout_seconds=function.timeout,
                memory_mb=function.memory,
                environment=environment(function, function.environment),
                target=target_of(function, trigger.get("alias")),
                **trigger,
            )

        routes = [
            route(
                source.function,
                source.queue_url,
                source.queue_arn,
                batch_size=source.batch_size,
                workers=self._writer_workers if source.function.role == "writer" else 1,
                alias=source.alias,
                report_failures=source.report_failures,
            )
            for source in wiring.queue_sources
            if source.enabled
        ]
        routes += [
            route(
                target.function,
                target.queue_url,
                target.queue_arn,
                s3_notifications=True,
                on_failure_queue_url=target.on_failure_url,
                max_attempts=target.max_attempts,
            )
            for target in wiring.async_targets
        ]
        names = [route.name for route in routes]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise RuntimeError(f"functions {duplicated} have more than one event source; not run locally")
        return routes

    @staticmethod
    def _local_resources(wiring: Wiring, exports: Mapping[str, Any]) -> LocalResources:
        arns = {source.queue_url: source.queue_arn for source in wiring.queue_sources}
        async_target = wiring.async_targets[0] if wiring.async_targets else None

        def arn_of(url: str) -> str:
            return arns.get(url, "")

        return LocalResources(
            data_bucket=exports["data_bucket"],
            writer_queue_url=exports["writer_queue_url"],
            writer_queue_arn=arn_of(exports["writer_queue_url"]),
            dlq_url=exports["dlq_url"],
            dlq_arn=arn_of(exports["dlq_url"]),
            notification_queue_url=async_target.queue_url if async_target else "",
            notification_queue_arn=async_target.queue_arn if async_target else "",
            account_table=exports["account_table"],
            log_table=exports["log_table"],
        )

    def _make_outputs(self, endpoint: str, api_url: str, exports: Mapping[str, Any]) -> dict[str, str]:
        """The program's exports, with the local addresses: the stand-in's ``api_url`` and ``endpoint_url``.

        ``stack`` is ``local`` (what pipeline-ctl is pointed at); ``program_stack`` names the config applied.
        """
        outputs = {key: str(value) for key, value in exports.items()}
        outputs.update(
            stack=spec.LOCAL_STACK, program_stack=self.program_stack, api_url=api_url, endpoint_url=endpoint
        )
        # Whose it is: a document whose process is gone was left by a crash (``persistence.unclean_stop``).
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        outputs.update(pid=str(os.getpid()), started_at=started)
        missing = set(spec.OUTPUT_KEYS) - set(outputs)
        if missing:  # the program stopped exporting a key pipeline-ctl reads: fail loudly, not half-written
            raise RuntimeError(f"the program's exports lack {sorted(missing)}")
        return outputs

    @property
    def outputs_path(self) -> Path:
        return self.workdir / spec.LOCAL_OUTPUTS_PATH

    def _save_outputs(self, outputs: dict[str, str]) -> None:
        path = self.outputs_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only: pipeline-ctl believes a document only when this user alone could have written it.
        write_private(path, (json.dumps(outputs, indent=2) + "\n").encode())

    def _remove_outputs(self, outputs: dict[str, str]) -> None:
        """Remove the document only if it is still ours (another local stack may have started since)."""
        try:
            current = json.loads(self.outputs_path.read_text())
        except (OSError, ValueError):
            return
        if current.get("endpoint_url") == outputs["endpoint_url"]:
            self.outputs_path.unlink(missing_ok=True)

    def _open_function_log(self) -> None:
        path = self.workdir / FUNCTION_LOG_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only from its creation, and tightened if an older run left it wider: it quotes record values.
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)
        self._log_file = os.fdopen(descriptor, "a", encoding="utf-8")
        install_function_output(self._log_file)
        self._stdout = True
        self._log_handler = logging.StreamHandler(self._log_file)
        self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        local_logger = logging.getLogger("local_stack")
        local_logger.addHandler(self._log_handler)
        local_logger.propagate = False

    def _close_function_log(self) -> None:
        if self._log_handler is not None:
            local_logger = logging.getLogger("local_stack")
            local_logger.removeHandler(self._log_handler)
            local_logger.propagate = True
            self._log_handler = None
        if self._stdout:
            uninstall_function_output()
            self._stdout = False
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
