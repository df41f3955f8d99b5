"""boto3 sessions for everything that runs outside Lambda: pipeline-ctl, the release step, the local stack.

One home for how a session is made, below the operator library and the local stack (docs/design.md,
"Layers"), so the dummy credentials of the local stack, the role chain of a deployed stack and the
shared service-model loader are written once. The handlers keep their own cached session
(``functions/aws.py``): inside Lambda the runtime supplies region and credentials, and ``functions/`` ships
in the zip alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import boto3
import botocore.loaders
import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from infra.spec import AssumeRole

LOCAL_CREDENTIALS: Mapping[str, str] = MappingProxyType(
    {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
)
"""What every client of the local stack signs with. moto checks no signature, but botocore refuses to sign
without credentials; fixed ones mean ``make demo`` works on a machine that never saw an AWS account, an
expired SSO profile cannot break a local run, and botocore does not spend seconds probing the instance
metadata service. They are never real."""

_SHARED_LOADER = botocore.loaders.create_loader()
"""One model loader for every session in the process: the demo, the local stack and tests create sessions
many times, and each new botocore session would otherwise parse the service JSON models again. The loader
only caches immutable model data."""


class AssumeRoleFailed(RuntimeError):
    """STS refused (or could not be reached for) one role of the chain; the message names the role."""


def session(
    *,
    region: str | None,
    profile: str | None = None,
    credentials: Mapping[str, str] | None = None,
    assume_roles: Sequence[AssumeRole] = (),
    endpoint_url: str | None = None,
) -> boto3.Session:
    """A session in ``region``: fixed ``credentials`` (the local stack), or ``profile`` / the environment,
    then each role of ``assume_roles`` in order (a deployed stack's ``aws:assumeRoles``).

    An unknown profile raises botocore's ``ProfileNotFound`` when the session is first used."""
    # With fixed credentials the AWS_PROFILE variable must not even be read: a profile missing from this
    # machine's config would fail the session for nothing.
    ignore_profile = {"profile": (None, None, None, None)} if credentials else None
    core = botocore.session.Session(profile=None if credentials else profile, session_vars=ignore_profile)
    core.register_component("data_loader", _SHARED_LOADER)
    current = boto3.Session(botocore_session=core, region_name=region, **dict(credentials or {}))
    for number, role in enumerate(assume_roles):
        current = _assumed(current, role, number=number, region=region, endpoint_url=endpoint_url)
    return current


def local_session(region: str) -> boto3.Session:
    """A session for the local stack: its region, ``LOCAL_CREDENTIALS``, never the developer's AWS config."""
    return session(region=region, credentials=LOCAL_CREDENTIALS)


def _assumed(
    current: boto3.Session, role: AssumeRole, *, number: int, region: str | None, endpoint_url: str | None
) -> boto3.Session:
    request = {
        "RoleArn": role.role_arn,
        "RoleSessionName": role.session_name or f"serverless-pipeline-{number}",
    }
    if role.external_id:
        request["ExternalId"] = role.external_id
    try:
        answer = current.client("sts", endpoint_url=endpoint_url).assume_role(**request)
    except ClientError as error:
        info = error.response.get("Error", {})
        raise AssumeRoleFailed(
            f"assuming role {role.role_arn} failed: {info.get('Code', 'Error')}: {info.get('Message', '')}"
        ) from error
    except BotoCoreError as error:
        raise AssumeRoleFailed(f"assuming role {role.role_arn} failed: {error}") from error
    credentials = answer["Credentials"]
    return session(
        region=region,
        credentials={
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        },
    )
