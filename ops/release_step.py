"""``python -m ops.release_step``: what the Pulumi program's release step runs after a new Writer version.

The program (``infra/release.py``) only names this module and writes its options with
``infra.spec.ReleaseStep``; this module reads them with the same class, reaches AWS as the stack's provider
does (region, profile, role chain, through ``infra.sessions``), points the deployment group's per-version
alarms at the version (``ops.release_alarms``: the release is judged by the new version's own alarms) and
calls :func:`ops.release.deploy`, which waits for the whole canary. Its ``--timeout`` is the step's only time
limit (docs/deploy.md). Only this step writes alarms: ``pipeline-ctl release`` reads and stops deployments.

Exit codes: 0 when ``live`` serves the version (one JSON document on stdout), 1 when the release failed or
could not be followed (one ``error:`` line on stderr), 2 on a bad command line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace

import boto3
from botocore.exceptions import BotoCoreError

from infra import sessions
from infra.spec import ReleaseStep, release_step_parser
from ops.release import ReleaseError, ReleaseResult, ReleaseStatus, Waiting, deploy
from ops.release_alarms import ReleaseAlarmError, point_version_alarms


def _print_progress(status: ReleaseStatus) -> None:
    print(
        f"deployment {status.deployment_id}: {status.status} "
        f"(version {status.current_version} -> {status.target_version})",
        file=sys.stderr,
        flush=True,
    )


def release(step: ReleaseStep, *, session: boto3.Session, waiting: Waiting) -> ReleaseResult:
    """Point the group's per-version alarms at ``step.target_version``, then release it and wait.

    The alarms are pointed before the deployment starts, so CodeDeploy judges the canary by the new
    version's own traffic; nothing is pointed while another deployment of the group runs."""
    try:
        judged = point_version_alarms(
            codedeploy=session.client("codedeploy", endpoint_url=step.endpoint_url),
            cloudwatch=session.client("cloudwatch", endpoint_url=step.endpoint_url),
            application=step.application,
            deployment_group=step.deployment_group,
            version=step.target_version,
        )
    except ReleaseAlarmError as error:
        raise ReleaseError(str(error)) from error
    result = deploy(
        function_name=step.function_name,
        alias=step.alias,
        application=step.application,
        deployment_group=step.deployment_group,
        target_version=step.target_version,
        waiting=waiting,
        session=session,
        endpoint_url=step.endpoint_url,
    )
    if result.started and not judged.alarms and not judged.skipped:
        result = replace(result, reason=f"{result.reason} (no alarm of the group watches this version alone)")
    return replace(result, judged_by=judged.alarms)


def run(step: ReleaseStep) -> int:
    """Release as ``step`` says; 0 when ``live`` serves the version, 1 (one line on stderr) when not."""
    try:
        session = sessions.session(
            region=step.region,
            profile=step.profile,
            assume_roles=step.assume_roles,
            endpoint_url=step.endpoint_url,
        )
        waiting = Waiting(timeout=step.timeout_seconds, poll=step.poll_seconds, progress=_print_progress)
        result = release(step, session=session, waiting=waiting)
    except (ReleaseError, sessions.AssumeRoleFailed, BotoCoreError) as error:
        # BotoCoreError: e.g. a profile that does not exist, no credentials at all.
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_dict(), sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        step = ReleaseStep.from_argv(arguments)
    except ValueError as error:
        print(release_step_parser().format_usage().rstrip(), file=sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run(step)


if __name__ == "__main__":
    sys.exit(main())
