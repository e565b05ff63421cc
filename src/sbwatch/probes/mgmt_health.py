"""Management API probe: the provider's view of the project and of each service's health.

``ok`` only when the project is ACTIVE_HEALTHY and every service is ACTIVE_HEALTHY; ``fail``
when either is not (or the API answers wrongly); ``error`` when the API cannot be asked
(rate limited, unreachable). After a 429 the client itself refuses calls until the reset,
so the probe costs nothing while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import httpx

from sbwatch.core.errors import ApiError, AuthRejected, RateLimited
from sbwatch.core.readings import MgmtHealth
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import Timer, network_cause, timeout_s
from sbwatch.probes.base import ProbeContext
from sbwatch.supabase.mgmt_api import ManagementApi, ProjectInfo, ServiceHealth

HEALTHY = "ACTIVE_HEALTHY"
SERVICES = ("db", "rest", "auth")
MAX_HEALTH_TIMEOUT_MS = 10_000
_T = TypeVar("_T")


class MgmtHealthProbe:
    """Project status and service health from the Management API."""

    kind = ProbeKind.MGMT_HEALTH

    def __init__(self, ctx: ProbeContext, api: ManagementApi | None = None) -> None:
        self._ctx = ctx
        self._ref = ctx.project.ref
        timeout = timeout_s(ctx, SPEC)
        # The server-side health check must finish before our own request gives up.
        self._health_timeout_ms = min(MAX_HEALTH_TIMEOUT_MS, max(int(timeout * 800), 500))
        self._api = api or _default_api(ctx, timeout)

    @property
    def api(self) -> ManagementApi:
        """The Management API client the probe asks through."""
        return self._api

    async def run(self) -> ProbeResult:
        """Ask for the project and its services' health (concurrently).

        The health request runs as a task of its own while this one asks for the project:
        concurrent as a gather of both, with one task and one wake-up fewer. Both are always
        awaited; the project's failure, when both fail, is the one reported.
        """
        timer = Timer(self._ctx, self.kind)
        health_call = self._api.health(self._ref, SERVICES, timeout_ms=self._health_timeout_ms)
        asking = asyncio.ensure_future(_answer(health_call))
        try:
            project = await _answer(self._api.get_project(self._ref))
            health = await asking
        finally:
            asking.cancel()  # only when this run was cancelled meanwhile: it is done otherwise
        for answer in (project, health):
            if isinstance(answer, Exception):
                return _failure(timer, answer)
        assert isinstance(project, ProjectInfo)
        assert isinstance(health, list)
        return _judge(timer, project, health)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared."""


async def _answer(call: Awaitable[_T]) -> _T | Exception:
    """What ``call`` returns, or the exception it raised (a BaseException is raised on)."""
    try:
        return await call
    except Exception as exc:  # every API failure is an outcome, judged by _failure
        return exc


def _default_api(ctx: ProbeContext, timeout: float) -> ManagementApi:
    token = ctx.settings.token_for(ctx.project)
    if token is None:
        raise ValueError(f"project {ctx.project.ref}: no Management API token configured")
    # One attempt per run: the probe runs again at its next interval.
    return ManagementApi(
        ctx.http,
        ctx.settings.mgmt_api_url,
        token,
        clock=ctx.clock,
        timeout_s=timeout,
        get_retries=0,
    )


def _judge(timer: Timer, project: ProjectInfo, health: list[ServiceHealth]) -> ProbeResult:
    services = {item.name: item.status for item in health}
    data = MgmtHealth(project.status, services).to_doc()
    bad = [item for item in health if item.status != HEALTHY]
    if project.status == HEALTHY and not bad and health:
        return timer.result(Outcome.OK, data=data)
    problems = [] if project.status == HEALTHY else [f"project {project.status}"]
    problems += [f"{item.name} {item.status}" for item in bad]
    if not health:
        problems.append("no service health reported")
    return timer.result(Outcome.FAIL, "; ".join(problems), data=data)


def _failure(timer: Timer, exc: Exception) -> ProbeResult:
    if isinstance(exc, RateLimited):
        return timer.result(
            Outcome.ERROR,
            f"rate limited, retry in {exc.retry_after_s:.0f}s",
            retry_after_s=exc.retry_after_s,
        )
    if isinstance(exc, AuthRejected):  # sbwatch's credential, never the project's outage
        if exc.missing_permissions:
            lacks = f"token lacks {', '.join(exc.missing_permissions)}"
            return timer.result(Outcome.FAIL, lacks, status_code=exc.status)
        said = "token invalid or expired" if exc.status == 401 else "token not allowed"
        return timer.result(Outcome.FAIL, said, status_code=exc.status)
    if not isinstance(exc, ApiError):
        raise exc
    if isinstance(exc.__cause__, httpx.TimeoutException):
        return timer.result(Outcome.TIMEOUT, "management API did not answer in time")
    if exc.status is None and exc.transient:
        cause = network_cause(exc) or "could not connect"
        return timer.result(Outcome.ERROR, f"management API unreachable: {cause}")
    if exc.status is None:
        return timer.result(Outcome.FAIL, "management API: unexpected response body")
    return timer.result(
        Outcome.FAIL, f"management API error ({exc.status})", status_code=exc.status
    )


# Two calls a run, every 30 s: far under the 120 a minute the Management API allows.
SPEC = REGISTRY[ProbeKind.MGMT_HEALTH]
