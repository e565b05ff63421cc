"""What the probes share: building results, timeouts, and mapping HTTP failures to outcomes.

The HTTP rules, once for every probe that asks an HTTP endpoint itself (rest, auth, metrics,
status_page; ``tests/probes/test_http_probes.py`` runs each through every rule). The
Management API probe asks through ``supabase.mgmt_api`` and maps that client's errors on its
own: a 401 there is sbwatch's token, not the project's key.
- 2xx is an answer (each probe then checks the body it needs);
- 401/403: the key was rejected (``fail``);
- 522/544: the provider's edge gave up on the origin (``timeout``), the IO-budget symptom;
- any other status is ``fail`` (a 404 from the project root means a wrong URL or a route that
  is gone: calling it reachable would keep the watchdog quiet through a real outage);
- no answer in time is ``timeout``, and so is an answer slower than the probe's
  ``slow_after`` (rest and auth: 5 s), with its status; refused, DNS and TLS failures are
  ``error``; a connection dropped mid-answer is ``fail`` (the server was reached and did not
  answer properly).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from sbwatch.core.probe_specs import ProbeSpec
from sbwatch.core.results import DataCheckResult, Outcome, ProbeKind, ProbeResult
from sbwatch.probes.base import ProbeContext
from sbwatch.supabase.edge import KEY_REJECTED_STATUSES, ORIGIN_TIMEOUT_STATUSES


def slow_after_s(ctx: ProbeContext, spec: ProbeSpec) -> float | None:
    """The configured slow threshold of one project probe kind, seconds (None: none)."""
    configured = ctx.project.probes.get(spec.kind)
    slow = configured.slow_after if configured is not None else spec.slow_after
    return None if slow is None else slow.total_seconds()


def timeout_s(ctx: ProbeContext, spec: ProbeSpec) -> float:
    """The configured timeout of one probe kind (its spec's default if not configured), seconds."""
    if spec.provider_wide:
        return ctx.settings.status_page.timeout.total_seconds()
    configured = ctx.project.probes.get(spec.kind)
    return (configured.timeout if configured is not None else spec.timeout).total_seconds()


class Timer:
    """Measures one run on the context's clock and builds its result."""

    def __init__(self, ctx: ProbeContext, kind: ProbeKind, project: str | None = None) -> None:
        self._ctx = ctx
        self._kind = kind
        self._project = project if project is not None else ctx.project.ref
        self._started = ctx.clock.monotonic()

    def elapsed_s(self) -> float:
        """Seconds since the timer started."""
        return max(self._ctx.clock.monotonic() - self._started, 0.0)

    def result(
        self,
        outcome: Outcome,
        detail: str = "",
        *,
        status_code: int | None = None,
        data: dict[str, Any] | None = None,
        retry_after_s: float | None = None,
        checks: tuple[DataCheckResult, ...] = (),
    ) -> ProbeResult:
        """The run's ProbeResult, with the time elapsed since the timer started."""
        return ProbeResult(
            project=self._project,
            probe=self._kind,
            outcome=outcome,
            at=self._ctx.clock.now(),
            duration_s=self.elapsed_s(),
            detail=detail,
            status_code=status_code,
            data=data or {},
            retry_after_s=retry_after_s,
            checks=checks,
        )


def status_outcome(status: int) -> tuple[Outcome, str] | None:
    """The outcome of a non-2xx status; None for 2xx (the probe judges the body)."""
    if 200 <= status < 300:
        return None
    if status in KEY_REJECTED_STATUSES:
        return Outcome.FAIL, f"key rejected ({status})"
    if status in ORIGIN_TIMEOUT_STATUSES:
        return Outcome.TIMEOUT, f"origin timeout ({status})"
    if status >= 500:
        return Outcome.FAIL, f"server error ({status})"
    return Outcome.FAIL, f"unexpected status ({status})"


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def network_cause(exc: BaseException) -> str | None:
    """Name the low-level cause of a connection failure: refused, DNS, TLS; None if unknown."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return "TLS handshake failed"
        if isinstance(cause, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
    text = " ".join(str(cause) for cause in _causes(exc)).lower()
    for needle, meaning in (
        ("refused", "connection refused"),
        ("name or service", "DNS lookup failed"),
        ("nodename", "DNS lookup failed"),
        ("name resolution", "DNS lookup failed"),
        ("certificate", "TLS handshake failed"),
        ("ssl", "TLS handshake failed"),
    ):
        if needle in text:
            return meaning
    return None


def http_error_outcome(exc: httpx.HTTPError) -> tuple[Outcome, str]:
    """Map an httpx exception to an outcome and a detail free of secrets."""
    if isinstance(exc, httpx.ConnectTimeout):
        return Outcome.TIMEOUT, "connect timed out"
    if isinstance(exc, httpx.TimeoutException):
        return Outcome.TIMEOUT, "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return Outcome.ERROR, network_cause(exc) or "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return Outcome.FAIL, "connection dropped during the answer"
    if isinstance(exc, httpx.DecodingError):
        return Outcome.FAIL, "undecodable answer"
    return Outcome.ERROR, f"request failed ({type(exc).__name__})"


async def http_get(
    ctx: ProbeContext,
    timer: Timer,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    limit_s: float,
    slow_s: float | None = None,
) -> httpx.Response | ProbeResult:
    """GET ``url``; the response if 2xx within ``slow_s``, else the finished ProbeResult of
    the failure (an answer later than ``slow_s`` is a ``timeout`` with its status)."""
    try:
        response = await ctx.http.get(url, headers=headers, timeout=limit_s)
    except httpx.HTTPError as exc:
        outcome, detail = http_error_outcome(exc)
        return timer.result(outcome, detail)
    failed = status_outcome(response.status_code)
    if failed is not None:
        return timer.result(failed[0], failed[1], status_code=response.status_code)
    took = timer.elapsed_s()
    if slow_s is not None and took > slow_s:
        detail = f"answered in {took:.1f}s: slower than {slow_s:g}s"
        return timer.result(Outcome.TIMEOUT, detail, status_code=response.status_code)
    return response


def json_body(response: httpx.Response) -> Any | None:
    """The response body as JSON; None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def api_key_headers(ctx: ProbeContext) -> dict[str, str]:
    """``apikey`` and bearer headers with the project's service key (never logged)."""
    key = ctx.project.service_key
    if key is None:
        return {}
    value = key.get_secret_value()
    return {"apikey": value, "Authorization": f"Bearer {value}"}
