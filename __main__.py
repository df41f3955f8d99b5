"""serverless-pipeline on AWS, as one Pulumi program.

Deploys (docs/design.md has the architecture, docs/deploy.md how to run it):
  - Storage: DataBucket (private, SSE, TLS only), AccountTable, LogTable;
  - Messaging: WriterQueue with redrive to DeadLetterQueue;
  - Functions: Transformer (S3 .json uploads), Writer (WriterQueue, alias ``live``), ErrorHandler (DLQ),
    their roles, log groups, dependency layer and triggers;
  - Api: HTTP API ``POST /writer`` → WriterQueue, throttled, access-logged;
  - Monitoring: alarms → SNS topic (created, or an existing one) with its email subscriber, one dashboard;
  - Release: CodeDeploy canary of the Writer, run and waited for when a new version is published;
  - EntryTimeKey: the KMS HMAC key that signs a replay's entry time, and the operators' policy to use it;
  - Outputs: the stack outputs document, exported and written to SSM for ``pipeline-ctl``.
Every resource goes through one AWS provider whose default tags are ``project`` and ``stack``. An explicit
provider does not read the ``aws:`` config by itself: region, profile and assumed roles are passed from the
validated config, the same values the release step uses; the other ``aws:`` keys are forwarded (account
guards, retries) or refused by ``infra.config``, never ignored.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra import spec
from infra.api import Api, ApiArgs
from infra.config import load_config
from infra.functions import COMPONENT_NAME, PROVIDER_NAME, Functions, FunctionsArgs
from infra.messaging import Messaging, MessagingArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.outputs import Outputs, OutputsArgs
from infra.release import Release, ReleaseArgs
from infra.signing import EntryTimeKey, EntryTimeKeyArgs
from infra.storage import Storage, StorageArgs

config = load_config()

provider = aws.Provider(
    PROVIDER_NAME,
    region=config.aws.region,
    profile=config.aws.profile,
    assume_roles=[
        aws.ProviderAssumeRoleArgs(
            role_arn=role.role_arn, session_name=role.session_name, external_id=role.external_id
        )
        for role in config.aws.assume_roles
    ]
    or None,
    default_tags={"tags": {"project": spec.PROJECT, "stack": config.stack}},
    **config.provider.provider_args(),
)
with_provider = pulumi.ResourceOptions(providers=[provider])

storage = Storage("storage", StorageArgs(config=config), opts=with_provider)
messaging = Messaging("messaging", MessagingArgs(config=config), opts=with_provider)
entry_time = EntryTimeKey("entry-time", EntryTimeKeyArgs(config=config), opts=with_provider)
functions = Functions(
    COMPONENT_NAME,
    FunctionsArgs(
        config=config,
        bucket=storage.bucket,
        writer_queue=messaging.writer_queue,
        dlq=messaging.dlq,
        account_table=storage.account_table,
        log_table=storage.log_table,
        entry_time_key=entry_time.key,
    ),
    opts=with_provider,
)
api = Api("api", ApiArgs(config=config, writer_queue=messaging.writer_queue), opts=with_provider)
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        config=config,
        functions={
            "transformer": functions.transformer.function.name,
            "writer": functions.writer.function.name,
            "error_handler": functions.error_handler.function.name,
        },
        writer_queue_name=messaging.writer_queue.name,
        dlq_name=messaging.dlq.name,
        account_table_name=storage.account_table.name,
        log_table_name=storage.log_table.name,
        api_id=api.api.id,
        writer_version=functions.writer.function.version,
    ),
    opts=with_provider,
)
release = Release(
    "release",
    ReleaseArgs(
        config=config,
        writer_function=functions.writer.function,
        writer_alias=functions.writer_alias,
        alarms=monitoring.release_alarms,
    ),
    opts=with_provider,
)
Outputs(
    "outputs",
    OutputsArgs(
        config=config,
        values={
            "stack": config.stack,
            "region": config.region,
            "api_url": api.url,
            "api_auth": config.api_auth.value,
            "data_bucket": storage.bucket.bucket,
            "writer_queue_url": messaging.writer_queue.url,
            "dlq_url": messaging.dlq.url,
            "account_table": storage.account_table.name,
            "log_table": storage.log_table.name,
            "transformer_function": functions.transformer.function.name,
            "writer_function": functions.writer.function.name,
            "error_handler_function": functions.error_handler.function.name,
            "dashboard_name": monitoring.dashboard.dashboard_name,
            "alarm_topic_arn": monitoring.topic_arn,
            "entry_time_key": entry_time.key.arn,
        },
    ),
    opts=with_provider,
)
