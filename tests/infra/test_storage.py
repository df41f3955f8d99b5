"""DataBucket guards and the two tables, as the inputs AWS receives."""

from __future__ import annotations

import json

import pytest

from infra import spec
from tests.support.infra import Program

BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def test_bucket_blocks_all_public_access(dev: Program) -> None:
    bucket = dev.one(BUCKET)
    block = dev.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")

    assert block.inputs["bucket"] == bucket.outputs["bucket"]
    for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs[setting] is True, setting


def test_bucket_is_encrypted_at_rest(dev: Program) -> None:
    bucket = dev.one(BUCKET)
    sse = dev.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")

    assert sse.inputs["bucket"] == bucket.outputs["bucket"]
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_bucket_policy_denies_non_tls_requests_on_bucket_and_objects(dev: Program) -> None:
    bucket = dev.one(BUCKET)
    policy = dev.one("aws:s3/bucketPolicy:BucketPolicy")
    document = json.loads(policy.inputs["policy"])
    arn = bucket.outputs["arn"]

    assert policy.inputs["bucket"] == bucket.outputs["bucket"]
    [statement] = document["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == sorted([arn, f"{arn}/*"])


def test_bucket_ownership_is_enforced(dev: Program) -> None:
    ownership = dev.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["bucket"] == dev.one(BUCKET).outputs["bucket"]
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_account_table_keys_billing_and_pitr(dev: Program) -> None:
    table = dev.one(TABLE, "accounts")

    assert table.inputs["hashKey"] == spec.ACCOUNT_TABLE.hash_key == "account_id"
    assert table.inputs["attributes"] == [{"name": "account_id", "type": "S"}]
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}


@pytest.mark.parametrize("name", ["accounts", "errors"])
def test_tables_use_the_aws_managed_kms_key(dev: Program, name: str) -> None:
    """DynamoDB encrypts every table; absent or ``enabled: false`` means an AWS owned key. ``enabled: true``
    without ``kmsKeyArn`` selects the AWS managed key ``alias/aws/dynamodb`` (key use in CloudTrail)."""
    encryption = dev.one(TABLE, name).inputs["serverSideEncryption"]
    assert encryption == {"enabled": True}
    assert "kmsKeyArn" not in encryption


def test_log_table_has_ttl_and_the_by_day_and_by_account_indexes(dev: Program) -> None:
    table = dev.one(TABLE, "errors")

    assert table.inputs["hashKey"] == "error_id"
    assert {a["name"] for a in table.inputs["attributes"]} == {"error_id", "day", "failed_at", "account_id"}
    assert table.inputs["ttl"] == {"attributeName": "ttl", "enabled": True}
    by_day, by_account = table.inputs["globalSecondaryIndexes"]
    assert by_day["name"] == spec.LOG_TABLE_DAY_INDEX
    assert by_day["keySchemas"] == [
        {"attributeName": "day", "keyType": "HASH"},
        {"attributeName": "failed_at", "keyType": "RANGE"},
    ]
    assert by_account["name"] == spec.LOG_TABLE_ACCOUNT_INDEX == "by_account"
    assert by_account["keySchemas"] == [
        {"attributeName": "account_id", "keyType": "HASH"},
        {"attributeName": "failed_at", "keyType": "RANGE"},
    ]
    assert by_day["projectionType"] == by_account["projectionType"] == "ALL"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_deletion_protection_follows_config(program_runner, stack: str, protected: bool) -> None:
    program = program_runner(stack)

    for table in program.resources_of_type(TABLE):
        assert table.inputs["deletionProtectionEnabled"] is protected, table.name
    assert program.one(BUCKET).inputs["forceDestroy"] is (not protected)


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_stateful_resources_carry_pulumi_protect_where_deletion_protection_is_on(
    program_runner, stack: str, protected: bool
) -> None:
    """Without ``protect``, ``pulumi destroy`` deletes functions, API and both queues before AWS refuses the
    tables: the DLQ's failed records are gone and the stack is half there."""
    program = program_runner(stack)
    stateful = {
        program.one(BUCKET).name,
        program.one(TABLE, "accounts").name,
        program.one(TABLE, "errors").name,
        program.one("aws:sqs/queue:Queue", "-dlq").name,
    }

    assert {r.name for r in program.resources if r.protect} == (stateful if protected else set())


def test_bucket_is_versioned_so_the_transformer_reads_the_version_its_event_names(dev: Program) -> None:
    versioning = dev.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == dev.one(BUCKET).outputs["bucket"]
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}


@pytest.mark.parametrize(
    ("config", "noncurrent", "incomplete"),
    [({}, 30, 7), ({"noncurrentVersionDays": "90", "incompleteUploadDays": "2"}, 90, 2)],
)
def test_lifecycle_expires_old_versions_and_abandoned_uploads(
    program_runner, config: dict[str, str], noncurrent: int, incomplete: int
) -> None:
    program = program_runner("prod", config)
    lifecycle = program.one(LIFECYCLE)
    rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}

    assert lifecycle.inputs["bucket"] == program.one(BUCKET).outputs["bucket"]
    assert all(rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""} for rule in rules.values())
    assert rules["expire-old-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": noncurrent}
    assert rules["expire-old-versions"]["expiration"] == {"expiredObjectDeleteMarker": True}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": incomplete
    }
    assert program.depends_on(lifecycle, program.one("aws:s3/bucketVersioning:BucketVersioning"))
