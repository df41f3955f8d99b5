"""The program's shape: every resource belongs to one of our components, each reporting its outputs."""

from __future__ import annotations

from tests.support.infra import Program

COMPONENT_PREFIX = "serverless-pipeline:infra:"


def test_every_aws_resource_is_a_child_of_one_of_our_components(dev: Program) -> None:
    components = {r.urn: r for r in dev.resources if r.type.startswith(COMPONENT_PREFIX)}
    children = [r for r in dev.resources if r.type.startswith(("aws:", "command:"))]

    assert {c.type.removeprefix(COMPONENT_PREFIX) for c in components.values()} >= {
        "Storage", "Messaging", "Functions", "LambdaFunction", "Api", "Monitoring", "Release", "Outputs",
    }  # fmt: skip
    orphans = [r.name for r in children if r.parent not in components]
    assert orphans == []


def test_each_component_registers_real_outputs(dev: Program) -> None:
    components = [r for r in dev.resources if r.type.startswith(COMPONENT_PREFIX)]

    for component in components:
        outputs = dev.component_outputs.get(component.urn)
        assert outputs, f"{component.type} {component.name} registered no outputs"
        assert all(value is not None for value in outputs.values()), (component.name, outputs)


def test_storage_component_reports_its_resources(dev: Program) -> None:
    storage = dev.one("serverless-pipeline:infra:Storage")
    reported = dev.component_outputs[storage.urn]

    assert reported["bucket_arn"] == dev.one("aws:s3/bucket:Bucket").outputs["arn"]
    assert reported["account_table_name"] == dev.outputs["account_table"]
    assert reported["log_table_name"] == dev.outputs["log_table"]
