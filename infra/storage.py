"""DataBucket (uploads) and the two DynamoDB tables.

The bucket is private by construction: all four public-access blocks, bucket-owner-enforced ownership (ACLs
off), SSE-S3, and a policy denying any request not made over TLS. It is versioned: the Transformer reads the
exact version its event names, so an upload overwritten before it was read is still read as it was sent. The
lifecycle rules keep versioning from growing the bucket forever: an old version expires some days after it
stops being current, expired delete markers go, and so do the parts of multipart uploads never completed.

The tables are built from ``infra.spec``'s ``ACCOUNT_TABLE`` and ``LOG_TABLE`` (keys, indexes, TTL,
point-in-time recovery); the local stack receives them through this same program.

Every DynamoDB table is encrypted at rest whatever the program says; ``server_side_encryption`` only picks
the key. Absent or ``enabled: false`` is an AWS owned key (free, invisible to the account);
``enabled: true`` with no ``kms_key_arn``, what both tables declare, is the AWS managed key
``alias/aws/dynamodb`` (SSE type KMS): its use appears in CloudTrail and AWS KMS request charges apply. The
functions need no KMS grant for it: its key policy allows any principal of the account using DynamoDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.config import StackConfig
from infra.naming import stem


def table_args(table: spec.TableSpec) -> dict[str, Any]:
    """``aws.dynamodb.Table`` arguments for a table of the table of facts."""
    args: dict[str, Any] = {
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": table.hash_key,
        "range_key": table.range_key,
        "attributes": [{"name": name, "type": "S"} for name in table.key_attributes()],
        "global_secondary_indexes": [
            {
                "name": index.name,
                "key_schemas": [
                    {"attribute_name": index.hash_key, "key_type": "HASH"},
                    *([{"attribute_name": index.range_key, "key_type": "RANGE"}] if index.range_key else []),
                ],
                "projection_type": "ALL",
            }
            for index in table.indexes
        ]
        or None,
        "point_in_time_recovery": {"enabled": table.point_in_time_recovery},
    }
    if table.ttl_attribute:
        args["ttl"] = {"attribute_name": table.ttl_attribute, "enabled": True}
    return args


def lifecycle_rules(
    *, noncurrent_days: int, incomplete_upload_days: int
) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
    """DataBucket's lifecycle: whole-bucket rules (an empty prefix), days from the stack's config."""
    return [
        {
            "id": "expire-old-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
            "expiration": {"expired_object_delete_marker": True},
        },
        {
            "id": "abort-incomplete-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": incomplete_upload_days},
        },
    ]


def deny_insecure_transport(bucket_arn: str) -> str:
    """Bucket policy: refuse every request that is not TLS, on the bucket and its objects."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True, kw_only=True)
class StorageArgs:
    config: StackConfig


class Storage(pulumi.ComponentResource):
    """DataBucket with its guards, AccountTable and LogTable."""

    bucket: aws.s3.Bucket
    account_table: aws.dynamodb.Table
    log_table: aws.dynamodb.Table

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:Storage", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        # Pulumi's own guard on the stateful resources: with it, `pulumi destroy` stops before deleting
        # anything, instead of deleting functions, API and queues and then failing on the tables.
        stateful = pulumi.ResourceOptions(parent=self, protect=config.deletion_protection)

        self.bucket = aws.s3.Bucket(
            stem(config.stack, "data_bucket"),
            # With protection on, `pulumi destroy` fails on a non-empty bucket rather than deleting uploads.
            force_destroy=not config.deletion_protection,
            opts=stateful,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-data-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-data-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-data-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-data-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-data-lifecycle",
            bucket=self.bucket.id,
            rules=lifecycle_rules(
                noncurrent_days=config.noncurrent_version_days,
                incomplete_upload_days=config.incomplete_upload_days,
            ),
            # S3 refuses noncurrent-version rules on a bucket whose versioning it has not yet seen enabled.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-data-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(deny_insecure_transport),
            # S3 rejects policy writes racing the public-access block; order them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )

        self.account_table = aws.dynamodb.Table(
            stem(config.stack, "account_table"),
            **table_args(spec.ACCOUNT_TABLE),
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=config.deletion_protection,
            opts=stateful,
        )
        self.log_table = aws.dynamodb.Table(
            stem(config.stack, "log_table"),
            **table_args(spec.LOG_TABLE),
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=config.deletion_protection,
            opts=stateful,
        )

        self.register_outputs(
            {
                "bucket_name": self.bucket.bucket,
                "bucket_arn": self.bucket.arn,
                "account_table_name": self.account_table.name,
                "account_table_arn": self.account_table.arn,
                "log_table_name": self.log_table.name,
                "log_table_arn": self.log_table.arn,
            }
        )
