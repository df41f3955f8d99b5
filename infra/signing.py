"""The stack's entry-time key: a KMS HMAC key, and the policy an operator needs to replay with it.

A replay that re-drives an S3 object writes the object's original entry time into its metadata with a MAC
from this key (``ops.redrive``); the Transformer believes the time only when ``VerifyMac`` says the key made
it (``functions.entry_time``). An uploader can write any metadata but cannot use the key, so no client can
move a record's entry time. A KMS key rather than a secret the program generates: the key material never
leaves KMS (it is in no state file, no environment, no log), and each use is a CloudTrail event.

Who may use it is decided by IAM (the key keeps AWS's default key policy, which delegates to IAM): the
Transformer's role gets ``kms:VerifyMac`` (``infra.functions``), and :attr:`EntryTimeKey.replay_policy` holds
``kms:GenerateMac`` for the operators who run ``pipeline-ctl replay-dlq`` (attach it to their role).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.config import StackConfig
from infra.iam import Statement, policy_document, role_path

KEY_DELETION_WINDOW_DAYS = 30
"""The longest KMS allows: a key deleted by mistake can be recovered for a month (until then, replays'
entry times cannot be signed or verified and re-driven objects take their new event time)."""


@dataclass(frozen=True, kw_only=True)
class EntryTimeKeyArgs:
    config: StackConfig


class EntryTimeKey(pulumi.ComponentResource):
    """The HMAC key and the operators' replay policy."""

    key: aws.kms.Key
    replay_policy: aws.iam.Policy

    def __init__(self, name: str, args: EntryTimeKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-pipeline:infra:EntryTimeKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        stack = args.config.stack
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{spec.PROJECT} {stack}: signs the entry time a replay writes into object metadata",
            customer_master_key_spec=spec.ENTRY_TIME_KEY_SPEC,
            key_usage=spec.ENTRY_TIME_KEY_USAGE,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            opts=child,
        )
        self.replay_policy = aws.iam.Policy(
            f"{name}-replay",
            description=(
                f"{spec.PROJECT} {stack}: lets `pipeline-ctl replay-dlq` sign the entry time of an object it "
                "re-drives"
            ),
            # Under the stack's IAM path, like its roles: the deployer's IAM grants are scoped to that path.
            path=role_path(stack),
            policy=policy_document(
                [Statement(sid="SignEntryTime", actions=("kms:GenerateMac",), resources=[self.key.arn])]
            ),
            opts=child,
        )
        self.register_outputs({"key_arn": self.key.arn, "replay_policy_arn": self.replay_policy.arn})
