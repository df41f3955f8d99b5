"""Physical and logical names of the stack's resources, derived from the shared stems in ``infra.spec``.

Functions get explicit names because their log groups (``/aws/lambda/<name>``) must exist before them, with
retention and JSON format set by us rather than created on first write by Lambda. Everything else is
auto-named by Pulumi from the same stems, so a replacement can create the new resource before
deleting the old.
"""

from __future__ import annotations

from infra import spec


def stem(stack: str, key: str) -> str:
    """The shared stem of ``key`` in ``infra.spec.resource_names`` (``serverless-pipeline-dev-writer``)."""
    return spec.resource_names(stack)[key]


def function_name(stack: str, key: str) -> str:
    """A function's physical name: exactly the shared stem (``writer_function`` → ``...-dev-writer``)."""
    return stem(stack, key)


def log_group_name(function: str) -> str:
    """The log group Lambda writes to when none is configured; we create it ourselves under that name."""
    return f"/aws/lambda/{function}"


def alarm_name(stack: str, suffix: str) -> str:
    """Alarm names share one prefix so ``pipeline-ctl status`` can list them with one call."""
    return f"{spec.alarm_prefix(stack)}{suffix}"
