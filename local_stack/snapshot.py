"""The emulator's whole state as bytes, and back: moto's backends pickled, as they are in this process.

Why pickling moto's backends rather than an API-level snapshot (scan tables, list objects, drain and requeue
messages): moto runs in this process, so its backends *are* the emulator's state, and one pickle takes all of
it — the deployment (functions with their code, mappings, notifications, routes, alarms, parameters) as well
as the data (items, objects with their versions and metadata, queued and in-flight messages with their receive
counts and attributes) — in a fraction of a second, with nothing to model per service. An API snapshot would
need code per resource kind, lose what the API cannot set (receive counts, message ids, sent timestamps,
object version ids) and cost a request per item. What it costs instead: the format belongs to one moto version
(the header says which; any other version, or a pickle that will not load, is refused with a reason and the
caller starts without it), and a few moto objects need help to pickle (:class:`_Pickler`).

The emulator's address (``http://127.0.0.1:PORT``) appears inside the state — queue URLs in the outputs,
function environments, the API integration — and the next start may listen on another port: every string
holding it is saved with a placeholder and given the new address on load.
"""

from __future__ import annotations

import io
import pickle
import weakref
from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import version
from typing import Any

FORMAT_VERSION = 1
"""Bump when what is pickled changes shape; older files are then refused (and the caller starts clean)."""

ENDPOINT_PLACEHOLDER = "\x00endpoint\x00"


class SnapshotError(RuntimeError):
    """The state could not be saved or restored (the message says why, in one line)."""


def _header() -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "moto": version("moto")}


def _new_lock(kind: str) -> Any:
    import threading

    return threading.RLock() if kind == "rlock" else threading.Lock()


def _weak_values(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _dict_of_dicts() -> defaultdict[Any, dict[Any, Any]]:
    return defaultdict(dict)


_FACTORIES: dict[str, Callable[[], Any]] = {
    # moto.ssm's resource tags: ``defaultdict(lambda: defaultdict(dict))``.
    "SimpleSystemManagerBackend.__init__.<locals>.<lambda>": _dict_of_dicts,
    # moto.awslambda's aliases per function: ``defaultdict(lambda: {})``.
    "LambdaStorage.__init__.<locals>.<lambda>": dict,
}
"""Default factories moto writes as lambdas (which pickle cannot name), by qualified name, and their twin."""


def _default_dict(factory_name: str, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(_FACTORIES[factory_name], items)


def _default_dict_subclass(
    kind: Any, factory: Any, attributes: dict[str, Any], items: dict[Any, Any]
) -> defaultdict[Any, Any]:
    """A subclass of defaultdict whose ``__init__`` wants other arguments (moto.ssm's ``ParameterDict``)."""
    rebuilt: defaultdict[Any, Any] = kind.__new__(kind)
    defaultdict.__init__(rebuilt, factory)
    rebuilt.__dict__.update(attributes)
    rebuilt.update(items)
    return rebuilt


def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


class _Pickler(pickle.Pickler):
    """pickle, plus what moto holds that pickle cannot: locks (fresh ones), weak-value maps, lambda default
    factories, private keys (KMS keys behind DynamoDB's encryption), and the emulator's address in strings."""

    def __init__(self, file: io.BytesIO, endpoint: str) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._endpoint = endpoint

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is str and self._endpoint in obj:
            return obj.replace(self._endpoint, ENDPOINT_PLACEHOLDER)
        return None

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is _RLOCK:
            return _new_lock, ("rlock",)
        if kind is _LOCK:
            return _new_lock, ("lock",)
        if kind is weakref.WeakValueDictionary:
            return _weak_values, (dict(obj.items()),)
        if kind is defaultdict and getattr(obj.default_factory, "__name__", "") == "<lambda>":
            name = obj.default_factory.__qualname__
            if name not in _FACTORIES:
                raise SnapshotError(f"cannot save a defaultdict whose default is {name}")
            return _default_dict, (name, dict(obj))
        if kind is not defaultdict and isinstance(obj, defaultdict):
            return _default_dict_subclass, (kind, obj.default_factory, vars(obj), dict(obj))
        if kind.__module__.startswith("cryptography.") and hasattr(obj, "private_bytes"):
            from cryptography.hazmat.primitives import serialization

            pem = obj.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return _private_key, (pem,)
        if kind.__module__.startswith("pulumi"):
            return _pulumi_value, (_describe_pulumi(obj),)
        return NotImplemented


def _describe_pulumi(obj: Any) -> dict[str, Any]:
    """A Pulumi asset or archive in a resource's inputs, as plain data (the cache never imports pulumi)."""
    described: dict[str, Any] = {"pulumi": type(obj).__name__}
    if hasattr(obj, "path"):
        described["path"] = str(obj.path)
    if hasattr(obj, "assets"):
        described["assets"] = {name: _describe_pulumi(asset) for name, asset in obj.assets.items()}
    return described


def _pulumi_value(described: dict[str, Any]) -> dict[str, Any]:
    return described


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, endpoint: str) -> None:
        super().__init__(file)
        self._endpoint = endpoint

    def persistent_load(self, pid: Any) -> Any:
        return str(pid).replace(ENDPOINT_PLACEHOLDER, self._endpoint)


def _lock_types() -> tuple[type, type]:
    import threading

    return type(threading.RLock()), type(threading.Lock())


_RLOCK, _LOCK = _lock_types()


def _backend_dicts() -> list[Any]:
    from moto.core.base_backend import BackendDict

    return list(BackendDict._instances)  # type: ignore[misc]


def dumps(extra: Any, *, endpoint: str) -> bytes:
    """The emulator's state (every moto backend in use) and ``extra`` (anything picklable), as bytes."""
    backends = {
        (backend.backend.__module__, backend.service_name): dict(backend) for backend in _backend_dicts()
    }
    buffer = io.BytesIO()
    pickle.dump(_header(), buffer, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        _Pickler(buffer, endpoint).dump({"backends": backends, "extra": extra})
    except SnapshotError:
        raise
    except Exception as error:  # anything moto holds that pickle cannot: name it, never half-save
        raise SnapshotError(f"cannot save the emulator's state: {type(error).__name__}: {error}") from error
    return buffer.getvalue()


def loads(data: bytes, *, endpoint: str) -> tuple[Any, dict[str, int]]:
    """Replace the emulator's state with the one in ``data``; returns its ``extra`` and the backends loaded.

    The emulator is wiped first. Refuses (``SnapshotError``) a file of another format or moto version, or one
    that does not load; the emulator is then left empty, never half-restored.
    """
    buffer = io.BytesIO(data)
    try:
        header = pickle.load(buffer)
    except Exception as error:
        raise SnapshotError(f"not a saved state ({type(error).__name__})") from error
    if not isinstance(header, dict) or header != _header():
        raise SnapshotError(f"saved by {header}, this is {_header()}")
    wipe_backends()
    try:
        content = _Unpickler(buffer, endpoint).load()
        counts = {}
        for (module, service), accounts in content["backends"].items():
            target = _find_backend_dict(import_module(module), service)
            if accounts:
                target.update(accounts)
                target._create_account_specific_backend(next(iter(accounts)))  # registers it for resets
                counts[service] = len(accounts)
    except Exception as error:
        wipe_backends()
        raise SnapshotError(f"the saved state does not load: {type(error).__name__}: {error}") from error
    return content["extra"], counts


HELD: dict[str, Any] = {}
"""What the in-process emulator holds, as its owner (``local_stack.stack``) recorded it; every wipe (hence
every restore) forgets it."""


def wipe_backends() -> None:
    """Forget every bucket, queue, function and item moto holds in this process (``/moto-api/reset``)."""
    from moto.moto_api._internal.models import moto_api_backend

    HELD.clear()
    moto_api_backend.reset()


def _find_backend_dict(module: Any, service: str) -> Any:
    from moto.core.base_backend import BackendDict

    for value in vars(module).values():
        if isinstance(value, BackendDict) and value.service_name == service:
            return value
    raise SnapshotError(f"moto has no {service} backend in {module.__name__}")
