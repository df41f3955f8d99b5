"""Which version an invocation through an alias runs: decided per invocation, as Lambda decides it.

An event source mapping may invoke an alias (the Writer's mapping invokes ``live``). Lambda resolves the alias
on every invocation, so moving the alias (CodeDeploy's canary: ``live`` on version 1 with 10 % of the
invocations routed to version 2, then all on 2) changes what runs at once. The dispatcher does the same: it
reads the alias (``GetAlias``, with its ``RoutingConfig``) before each invocation and runs the version it
picks with *that version's* configuration (its environment variables, as published) and its number in the
context (``function_version``) and in ``AWS_LAMBDA_FUNCTION_VERSION``, which the Writer's metrics carry.

What differs from Lambda: the code is the checkout's for every version (the local stack runs the modules in
``functions/``, not a version's zip), so two versions differ locally by their configuration only. And Lambda
routes each invocation at random with the alias's weights; here the share is exact and spread evenly
(invocations 0, 10, 20... go to an additional version weighted 0.1), so a test or a demo sees the canary's
version from the first invocation on, every time.

Example::

    resolver = AliasResolver(lambda_client, function_name="pipeline-local-writer", qualifier="live")
    resolver.resolve()  # Resolved(version="1", variables={...})
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

LATEST = "$LATEST"
WEIGHT_SCALE = 1_000_000
"""Routing weights are compared as integers (millionths): exact, whatever the float."""


@dataclass(frozen=True)
class Resolved:
    """The version one invocation runs, and that version's own environment variables."""

    version: str
    variables: dict[str, str]
    unset: frozenset[str] = frozenset()
    """Variables another version of the function sets and this one does not: not inherited from it."""


class AliasResolver:
    """Resolves one qualifier of one function (an alias name, a version number, ``$LATEST`` or none)."""

    def __init__(self, lambda_client: Any, *, function_name: str, qualifier: str | None) -> None:
        self._lambda = lambda_client
        self.function_name = function_name
        self.qualifier = qualifier
        self._lock = threading.Lock()
        self._variables: dict[str, dict[str, str]] = {}
        """Per version: published versions are immutable, so read once."""
        self._routing: tuple[str, tuple[tuple[str, float], ...]] | None = None
        self._count = 0

    def resolve(self) -> Resolved:
        qualifier = self.qualifier
        if not qualifier or qualifier == LATEST or qualifier.isdigit():
            version = qualifier or LATEST
        else:
            alias = self._lambda.get_alias(FunctionName=self.function_name, Name=qualifier)
            weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
            version = self._pick(alias["FunctionVersion"], weights)
        variables = self._variables_of(version)
        with self._lock:
            seen = {name for known in self._variables.values() for name in known}
        return Resolved(version=version, variables=variables, unset=frozenset(seen - set(variables)))

    def _pick(self, primary: str, weights: dict[str, float]) -> str:
        """The alias's version, or an additional one for its exact share of invocations, spread evenly."""
        routing = (primary, tuple(sorted(weights.items())))
        with self._lock:
            if routing != self._routing:  # the alias moved: count its new routing from its first invocation
                self._routing, self._count = routing, 0
            n = self._count
            self._count += 1
        for version, weight in routing[1]:
            share = round(float(weight) * WEIGHT_SCALE)
            # Invocation n goes to it when n * weight crosses a whole number (n = 0 does).
            if (n * share) // WEIGHT_SCALE > ((n - 1) * share) // WEIGHT_SCALE:
                return version
        return primary

    def _variables_of(self, version: str) -> dict[str, str]:
        with self._lock:
            known = self._variables.get(version)
        if known is not None and version != LATEST:
            return known
        kwargs: dict[str, Any] = {"FunctionName": self.function_name}
        if version != LATEST:
            kwargs["Qualifier"] = version
        configuration = self._lambda.get_function_configuration(**kwargs)
        variables = dict((configuration.get("Environment") or {}).get("Variables") or {})
        with self._lock:
            self._variables[version] = variables
        return variables
