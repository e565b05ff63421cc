"""The HTTP probes against MockTransport: every answer, and every failure class for each."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

import httpx
import pytest
from tests.probes.conftest import REF, SECRETS, SERVICE_KEY, make_ctx, make_settings, mock_client

from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import PROVIDER, Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY, build_probe, probe_class
from sbwatch.probes.auth import AuthProbe
from sbwatch.probes.rest import RestProbe
from sbwatch.probes.status_page import StatusPageProbe

Handler = Callable[[httpx.Request], httpx.Response]


def _raising(exc: Exception, cause: BaseException | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            if cause is not None:
                raise cause
        except BaseException as inner:
            raise exc from inner
        raise exc

    return handler


def _answer(status: int, body: bytes | None = None, json: object = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if json is not None:
            return httpx.Response(status, json=json)
        return httpx.Response(status, content=body or b"{}")

    return handler


async def _run(kind: ProbeKind, handler: Handler, clock: VirtualClock | None = None) -> ProbeResult:
    async with mock_client(handler) as http:
        probe = build_probe(kind, make_ctx(make_settings(), http, clock))
        try:
            return await probe.run()
        finally:
            await probe.aclose()


HTTP_PROBES = [ProbeKind.REST, ProbeKind.AUTH, ProbeKind.STATUS_PAGE, ProbeKind.METRICS]
"""The probes that ask an HTTP endpoint themselves: one mapping of failures (probes._common)."""
FAILURES: list[tuple[str, Handler, Outcome, str]] = [
    ("401", _answer(401), Outcome.FAIL, "key rejected (401)"),
    ("403", _answer(403), Outcome.FAIL, "key rejected (403)"),
    ("522", _answer(522), Outcome.TIMEOUT, "origin timeout (522)"),
    ("544", _answer(544), Outcome.TIMEOUT, "origin timeout (544)"),
    ("500", _answer(500), Outcome.FAIL, "server error (500)"),
    ("503", _answer(503), Outcome.FAIL, "server error (503)"),
    ("404", _answer(404), Outcome.FAIL, "unexpected status (404)"),
    ("read-timeout", _raising(httpx.ReadTimeout("slow")), Outcome.TIMEOUT, "no answer in time"),
    (
        "connect-timeout",
        _raising(httpx.ConnectTimeout("slow")),
        Outcome.TIMEOUT,
        "connect timed out",
    ),
    (
        "refused",
        _raising(
            httpx.ConnectError("connect failed"), ConnectionRefusedError(111, "Connection refused")
        ),
        Outcome.ERROR,
        "connection refused",
    ),
    (
        "dns",
        _raising(
            httpx.ConnectError("connect failed"), socket.gaierror(-2, "Name or service not known")
        ),
        Outcome.ERROR,
        "DNS lookup failed",
    ),
    (
        "tls",
        _raising(httpx.ConnectError("connect failed"), ssl.SSLCertVerificationError("bad cert")),
        Outcome.ERROR,
        "TLS handshake failed",
    ),
    (
        "dropped",
        _raising(httpx.RemoteProtocolError("peer closed")),
        Outcome.FAIL,
        "connection dropped during the answer",
    ),
]


@pytest.mark.parametrize("kind", HTTP_PROBES)
@pytest.mark.parametrize(
    ("name", "handler", "outcome", "detail"), FAILURES, ids=[f[0] for f in FAILURES]
)
async def test_every_failure_class_is_an_outcome(
    kind: ProbeKind, name: str, handler: Handler, outcome: Outcome, detail: str
) -> None:
    """Each HTTP probe turns statuses and transport failures into an outcome with a clear detail."""
    result = await _run(kind, handler)
    assert (outcome, detail) == (result.outcome, result.detail)
    assert not any(secret in repr(result) for secret in SECRETS)


async def test_rest_ok_sends_the_service_key() -> None:
    """REST is ok on 2xx and authenticates with apikey and bearer."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"swagger": "2.0"})

    result = await _run(ProbeKind.REST, handler)
    assert (Outcome.OK, 200, REF) == (result.outcome, result.status_code, result.project)
    assert f"https://{REF}.supabase.co/rest/v1/" == str(seen[0].url)
    assert (SERVICE_KEY, f"Bearer {SERVICE_KEY}") == (
        seen[0].headers["apikey"],
        seen[0].headers["authorization"],
    )


async def test_rest_does_not_parse_the_body() -> None:
    """REST is ok on 2xx even when the body is not JSON (the root document is not parsed)."""
    result = await _run(ProbeKind.REST, _answer(200, b"<html>"))
    assert Outcome.OK == result.outcome


async def test_duration_is_measured_on_the_clock() -> None:
    """The duration comes from the context's clock."""
    clock = VirtualClock()

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(1.5)
        return httpx.Response(200, json={})

    result = await _run(ProbeKind.AUTH, handler, clock)
    assert 1.5 == result.duration_s


@pytest.mark.parametrize("kind", [ProbeKind.REST, ProbeKind.AUTH])
async def test_an_answer_slower_than_five_seconds_is_failing(kind: ProbeKind) -> None:
    """REST or auth answering 200 after 7.6 s (the budget's throttle, before the edge gives up
    at 20 s) is failing as a person sees it: a timeout with its status; 4.9 s is still up."""
    clock = VirtualClock()
    took = [7.6, 4.9]

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(took.pop(0))
        return httpx.Response(200, json={})

    slow = await _run(kind, handler, clock)
    assert (Outcome.TIMEOUT, 200, "answered in 7.6s: slower than 5s") == (
        slow.outcome,
        slow.status_code,
        slow.detail,
    )
    assert Outcome.OK == (await _run(kind, handler, clock)).outcome


async def test_auth_ok_on_json_health() -> None:
    """Auth is ok on a 2xx JSON object and sends only the apikey."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "GoTrue", "version": "v2"})

    result = await _run(ProbeKind.AUTH, handler)
    assert (Outcome.OK, 200) == (result.outcome, result.status_code)
    assert ("/auth/v1/health", SERVICE_KEY) == (seen[0].url.path, seen[0].headers["apikey"])
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b"\xff\xfe"], ids=["text", "list", "binary"]
)
async def test_auth_invalid_json_fails(body: bytes) -> None:
    """Auth health that is not a JSON object is a failure, not an exception."""
    result = await _run(ProbeKind.AUTH, _answer(200, body))
    assert (Outcome.FAIL, "invalid JSON") == (result.outcome, result.detail)


SUMMARY = {
    "page": {"id": "x", "name": "Supabase"},
    "status": {"indicator": "minor", "description": "Minor Service Outage"},
    "components": [
        {"name": "DATABASE", "status": "operational"},
        {"name": "REST API", "status": "partial_outage"},
        {"name": "Storage", "status": "major_outage"},
    ],
    "incidents": [],
}


async def test_status_page_reads_indicator_and_configured_components() -> None:
    """The status page yields the indicator and only the configured components, case-insensitive."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SUMMARY)

    result = await _run(ProbeKind.STATUS_PAGE, handler)
    expected = {
        "indicator": "minor",
        "components": {"Database": "operational", "REST API": "partial_outage"},
    }
    assert (Outcome.OK, PROVIDER, expected) == (result.outcome, result.project, result.data)
    assert "https://status.example.test/api/v2/summary.json" == str(seen[0].url)
    assert "not on the page: Auth" in result.detail


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b"[]", b'{"components": []}', b'{"status": {"indicator": 3}}'],
    ids=["html", "list", "no-status", "bad-indicator"],
)
async def test_status_page_malformed_summary_fails(body: bytes) -> None:
    """A summary without the statuspage.io shape is a failure."""
    result = await _run(ProbeKind.STATUS_PAGE, _answer(200, body))
    assert (Outcome.FAIL, "invalid summary") == (result.outcome, result.detail)


def test_registry_has_every_probe_but_metrics() -> None:
    """The registry maps each kind this part provides to its class."""
    expected = {
        ProbeKind.DB,
        ProbeKind.REST,
        ProbeKind.AUTH,
        ProbeKind.MGMT_HEALTH,
        ProbeKind.STATUS_PAGE,
    }
    assert expected == set(REGISTRY) - {ProbeKind.METRICS, ProbeKind.DATA}
    assert (RestProbe, AuthProbe, StatusPageProbe) == (
        probe_class(REGISTRY[ProbeKind.REST]),
        probe_class(REGISTRY[ProbeKind.AUTH]),
        probe_class(REGISTRY[ProbeKind.STATUS_PAGE]),
    )
