"""The mgmt_health probe: provider status and service health as outcomes and data."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from tests.probes.conftest import MGMT_TOKEN, REF, SECRETS, make_ctx, make_settings, mock_client

from sbwatch.core.clock import SystemClock, VirtualClock
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import build_probe
from sbwatch.probes.runner import run_probe


def _project(status: str = "ACTIVE_HEALTHY") -> dict[str, Any]:
    return {
        "id": REF,
        "ref": REF,
        "organization_id": "o",
        "organization_slug": "o",
        "name": "shop",
        "region": "eu-central-1",
        "created_at": "2026-01-01T00:00:00Z",
        "status": status,
        "database": {
            "host": "h",
            "version": "15",
            "postgres_engine": "15",
            "release_channel": "ga",
        },
    }


def _health(**statuses: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "healthy": status == "ACTIVE_HEALTHY", "status": status}
        for name, status in statuses.items()
    ]


class FakeApi:
    """A handler serving the project and health endpoints, counting requests."""

    def __init__(
        self, project: Any = None, health: Any = None, status: int = 200, **headers: str
    ) -> None:
        self.project = project if project is not None else _project()
        self.health = (
            health
            if health is not None
            else _health(db="ACTIVE_HEALTHY", rest="ACTIVE_HEALTHY", auth="ACTIVE_HEALTHY")
        )
        self.status = status
        self.headers = headers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, headers=self.headers)
        body = self.health if request.url.path.endswith("/health") else self.project
        return httpx.Response(200, json=body)


async def _run(api: FakeApi, clock: VirtualClock | None = None, runs: int = 1) -> list[ProbeResult]:
    async with mock_client(api) as http:
        probe = build_probe(ProbeKind.MGMT_HEALTH, make_ctx(make_settings(), http, clock))
        results = []
        for _ in range(runs):
            results.append(await probe.run())
            if clock is not None:
                clock.advance(10)
        await probe.aclose()
    return results


async def test_all_healthy_is_ok_with_data() -> None:
    """Project and every service ACTIVE_HEALTHY: ok, with the statuses as data."""
    api = FakeApi()
    [result] = await _run(api)
    expected = {
        "project_status": "ACTIVE_HEALTHY",
        "services": {"db": "ACTIVE_HEALTHY", "rest": "ACTIVE_HEALTHY", "auth": "ACTIVE_HEALTHY"},
    }
    assert (Outcome.OK, expected) == (result.outcome, result.data)
    health_request = next(r for r in api.requests if r.url.path.endswith("/health"))
    assert ["db", "rest", "auth"] == health_request.url.params.get_list("services")
    assert f"Bearer {MGMT_TOKEN}" == health_request.headers["authorization"]


async def test_unhealthy_service_fails_even_if_project_is_healthy() -> None:
    """A service UNHEALTHY under an ACTIVE_HEALTHY project fails: one signal is not trusted."""
    api = FakeApi(health=_health(db="ACTIVE_HEALTHY", rest="UNHEALTHY", auth="ACTIVE_HEALTHY"))
    [result] = await _run(api)
    assert (Outcome.FAIL, "rest UNHEALTHY") == (result.outcome, result.detail)
    assert "UNHEALTHY" == result.data["services"]["rest"]


async def test_project_not_healthy_fails() -> None:
    """A project status other than ACTIVE_HEALTHY is a failure with the status in the data."""
    [result] = await _run(FakeApi(project=_project("RESIZING")))
    assert (Outcome.FAIL, "project RESIZING", "RESIZING") == (
        result.outcome,
        result.detail,
        result.data["project_status"],
    )


async def test_rate_limit_is_an_error_and_skips_calls_until_reset() -> None:
    """A 429 is error 'rate limited, retry in Ns'; later runs send nothing until the reset."""
    clock = VirtualClock()
    api = FakeApi(status=429, **{"X-RateLimit-Reset": "30"})
    results = await _run(api, clock, runs=3)  # at t=0, 10, 20
    sent_while_limited = len(api.requests)
    assert [Outcome.ERROR] * 3 == [r.outcome for r in results]
    assert [
        "rate limited, retry in 30s",
        "rate limited, retry in 20s",
        "rate limited, retry in 10s",
    ] == [r.detail for r in results]
    assert sent_while_limited <= 2  # only the first run's concurrent pair could be sent


async def test_rate_limit_lifts_after_reset() -> None:
    """Once the reset time has passed, the probe asks again."""
    clock = VirtualClock()
    api = FakeApi(status=429, **{"X-RateLimit-Reset": "15"})
    async with mock_client(api) as http:
        probe = build_probe(ProbeKind.MGMT_HEALTH, make_ctx(make_settings(), http, clock))
        first = await probe.run()
        api.status = 200
        clock.advance(15)
        second = await probe.run()
    assert (Outcome.ERROR, Outcome.OK) == (first.outcome, second.outcome)


def _raise(exc: Exception, cause: BaseException | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if cause is None:
            raise exc
        raise exc from cause

    return handler


@pytest.mark.parametrize(
    ("handler", "outcome", "detail"),
    [
        (FakeApi(status=401), Outcome.FAIL, "token invalid or expired"),
        (FakeApi(status=403), Outcome.FAIL, "token not allowed"),
        (FakeApi(status=500), Outcome.FAIL, "management API error (500)"),
        (FakeApi(status=404), Outcome.FAIL, "management API error (404)"),
        (FakeApi(project={"ref": REF}), Outcome.FAIL, "management API: unexpected response body"),
        (
            FakeApi(health={"not": "a list"}),
            Outcome.FAIL,
            "management API: unexpected response body",
        ),
        (
            _raise(httpx.ReadTimeout("slow")),
            Outcome.TIMEOUT,
            "management API did not answer in time",
        ),
        (
            _raise(httpx.ConnectError("failed"), ConnectionRefusedError(111, "refused")),
            Outcome.ERROR,
            "management API unreachable: connection refused",
        ),
        (
            _raise(httpx.ConnectError("failed"), socket.gaierror(-2, "Name or service not known")),
            Outcome.ERROR,
            "management API unreachable: DNS lookup failed",
        ),
    ],
    ids=["401", "403", "500", "404", "bad-project", "bad-health", "timeout", "refused", "dns"],
)
async def test_failures_are_outcomes(handler: Any, outcome: Outcome, detail: str) -> None:
    """Every Management API failure becomes an outcome with a clear detail and no secret."""
    async with mock_client(handler) as http:
        probe = build_probe(ProbeKind.MGMT_HEALTH, make_ctx(make_settings(), http))
        result = await probe.run()
    assert (outcome, detail) == (result.outcome, result.detail)
    assert not any(secret in repr(result) for secret in SECRETS)


class SlowApi(FakeApi, httpx.AsyncBaseTransport):
    """FakeApi answering after a real pause, or never when told to hang."""

    def __init__(self, *, hang: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hang = hang
        self.in_flight = self.most_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count the requests in flight while each waits."""
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.hang:
                await asyncio.Event().wait()
            await asyncio.sleep(0.01)
            return self(request)
        finally:
            self.in_flight -= 1


def _slow_probe(api: SlowApi, http: httpx.AsyncClient) -> Any:
    return build_probe(ProbeKind.MGMT_HEALTH, make_ctx(make_settings(), http, SystemClock()))


async def test_project_and_health_are_asked_concurrently() -> None:
    """Both requests are in flight at once; a project error is the one reported."""
    api = SlowApi(status=500)
    async with httpx.AsyncClient(transport=api) as http:
        result = await _slow_probe(api, http).run()
    assert 2 == api.most_in_flight
    assert 2 == len(api.requests)
    assert (Outcome.FAIL, "management API error (500)") == (result.outcome, result.detail)


async def test_a_run_cut_by_its_timeout_leaves_no_request_behind() -> None:
    """The runner's deadline cancels the run: the health request does not outlive it."""
    api = SlowApi(hang=True)
    async with httpx.AsyncClient(transport=api) as http:
        result = await run_probe(
            _slow_probe(api, http),
            project=REF,
            timeout_s=0.005,
            clock=SystemClock(),
            metrics=Metrics(),
            log=get_logger("test"),
        )
        await asyncio.sleep(0.05)
        assert Outcome.TIMEOUT == result.outcome
        assert {asyncio.current_task()} == asyncio.all_tasks()
        assert 0 == api.in_flight


async def test_a_scoped_token_names_the_permissions_it_lacks() -> None:
    """A 403 naming ``missing_permissions`` (a scoped token) is said with those permissions:
    sbwatch's credential problem, with the fix in the words."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"message": "Forbidden", "missing_permissions": ["projects_read", "infra_read"]}
        return httpx.Response(403, json=body)

    async with mock_client(handler) as http:
        probe = build_probe(ProbeKind.MGMT_HEALTH, make_ctx(make_settings(), http, None))
        result = await probe.run()
        await probe.aclose()
    assert (Outcome.FAIL, "token lacks projects_read, infra_read", 403) == (
        result.outcome,
        result.detail,
        result.status_code,
    )
