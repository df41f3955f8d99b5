"""The stack outputs document (docs/design.md): exported, and written to SSM for pipeline-ctl."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.config import StackConfig


def outputs_document(values: Mapping[str, str]) -> str:
    """The JSON the SSM parameter holds: every ``spec.OUTPUT_KEYS`` key and any of
    ``spec.OPTIONAL_OUTPUT_KEYS``, nothing else, sorted for a stable diff."""
    known = (*spec.OUTPUT_KEYS, *spec.OPTIONAL_OUTPUT_KEYS)
    missing = [key for key in spec.OUTPUT_KEYS if key not in values]
    extra = sorted(set(values) - set(known))
    if missing or extra:
        raise KeyError(f"outputs document mismatch: missing {missing}, unexpected {extra}")
    return json.dumps({key: values[key] for key in known if key in values}, sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class OutputsArgs:
    config: StackConfig
    values: Mapping[str, pulumi.Input[str]]
    """One value per ``spec.OUTPUT_KEYS`` key, and any of ``spec.OPTIONAL_OUTPUT_KEYS``."""


class Outputs(pulumi.ComponentResource):
    """Writes the document to ``/serverless-pipeline/<stack>/outputs`` and exports each key."""

    parameter: aws.ssm.Parameter

    def __init__(self, name: str, args: OutputsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Outputs", name, None, opts)
        keys = list(args.values)
        document = pulumi.Output.all(*args.values.values()).apply(
            lambda resolved: outputs_document(dict(zip(keys, resolved, strict=True)))
        )
        self.parameter = aws.ssm.Parameter(
            f"{name}-document",
            name=spec.outputs_parameter_name(args.config.stack),
            type="String",
            # Not a secret: `insecure_value` keeps the document readable in state and in preview diffs
            # (`value` would be stored as a secret).
            insecure_value=document,
            description="serverless-pipeline stack outputs, read by pipeline-ctl",
            opts=pulumi.ResourceOptions(parent=self),
        )
        for key, value in args.values.items():
            pulumi.export(key, value)
        self.register_outputs({"parameter": self.parameter.name, "document": document})
