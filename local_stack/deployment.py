"""What an applied program is, without Pulumi: the deployment's record and the config it was applied with.

Kept apart from ``local_stack.deploy`` (which imports Pulumi's engine) so that a start that replays a cached
deployment (``local_stack.deploy_cache``) never imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import spec
from local_stack.discovery import Wiring

PROJECT_DIR = Path(__file__).resolve().parents[1]
MAIN = PROJECT_DIR / "__main__.py"

Tamper = Callable[[str, str, dict[str, Any]], dict[str, Any]]
"""``(type, logical name, inputs) -> inputs``: lets a test break the program without editing it."""


@dataclass
class Applied:
    """One resource as applied: what the program declared and what the emulator answered."""

    type: str
    name: str
    inputs: dict[str, Any]
    id: str
    outputs: dict[str, Any]
    emulated: bool


@dataclass
class Deployment:
    stack: str
    region: str
    account: str
    exports: dict[str, Any]
    resources: list[Applied] = field(default_factory=list)
    seconds: float = 0.0
    wiring: Wiring | None = None
    """What the dispatcher and the API stand-in run, read back from the emulator right after the apply."""
    replayed: bool = False
    """True when this start restored the applied state from the cache instead of running the engine."""

    def of_type(self, type_token: str) -> list[Applied]:
        return [resource for resource in self.resources if resource.type == type_token]


def stack_config(stack: str, overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """``Pulumi.<stack>.yaml``'s config with ``overrides`` (bare keys are the project's; None removes)."""
    import yaml

    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    values: dict[str, str] = {}
    if path.exists():
        values = {
            key: str(value) for key, value in (yaml.safe_load(path.read_text())["config"] or {}).items()
        }
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{spec.PROJECT}:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value
    return values
