"""``pipeline-ctl release [status|wait|stop]``: the Writer's CodeDeploy canary, seen by an operator.

A thin adapter over :mod:`ops.codedeploy`, the same code the Pulumi program's release step runs, so what an
operator sees is what the deployment did. The deployment group's name comes from
:func:`infra.spec.codedeploy_names`; the local stack has no CodeDeploy, which is a usage error.

Example::

    status = release(target, "wait", timeout=600)
"""

from __future__ import annotations

from enum import StrEnum

from infra.spec import codedeploy_names
from ops import codedeploy
from ops.errors import OperationError
from ops.target import Target, require_deployed


class Action(StrEnum):
    STATUS = "status"
    WAIT = "wait"
    STOP = "stop"


def release(
    target: Target,
    action: Action = Action.STATUS,
    *,
    timeout: float = codedeploy.DEFAULT_WAIT_TIMEOUT,
    poll: float = codedeploy.DEFAULT_POLL_SECONDS,
) -> codedeploy.ReleaseStatus | None:
    """The newest Writer deployment after ``action``; ``None`` for ``status`` when there never was one."""
    require_deployed(target, "CodeDeploy release")
    names = codedeploy_names(target.stack)
    common = {
        "application": names["application"],
        "deployment_group": names["deployment_group"],
        "session": target.session,
        "endpoint_url": target.endpoint_url,
    }
    try:
        if action is Action.WAIT:
            return codedeploy.wait_release(**common, timeout=timeout, poll=poll)
        if action is Action.STOP:
            return codedeploy.stop_release(**common)
        return codedeploy.release_status(**common)
    except codedeploy.ReleaseError as error:
        raise OperationError(str(error)) from None
