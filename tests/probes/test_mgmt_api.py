"""The Management API client: shapes, error mapping, rate limiting, retries, secrecy."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import ApiError, AuthRejected, RateLimited
from sbwatch.core.tiers import Tier
from sbwatch.supabase.mgmt_api import Addons, ManagementApi, ProjectInfo, ServiceHealth

TOKEN = "sbp_0123456789abcdef0123456789abcdef01234567"
REF = "abcdefghijklmnopqrst"
BASE = "https://api.example.test"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers from a list or a function."""

    def __init__(self, answer: Handler | list[httpx.Response | Exception]) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if callable(self._answer):
            return self._answer(request)
        item = self._answer.pop(0) if len(self._answer) > 1 else self._answer[0]
        if isinstance(item, Exception):
            raise item
        return item


def make_api(
    recorder: Recorder, clock: VirtualClock, **kwargs: Any
) -> tuple[ManagementApi, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return ManagementApi(http, BASE, SecretStr(TOKEN), clock=clock, **kwargs), http


PROJECT = {
    "id": REF,
    "ref": REF,
    "organization_id": "org",
    "organization_slug": "org",
    "name": "shop",
    "region": "eu-central-1",
    "created_at": "2026-01-01T00:00:00Z",
    "status": "ACTIVE_HEALTHY",
    "database": {"host": "db", "version": "15", "postgres_engine": "15", "release_channel": "ga"},
}


def _variant(vid: str, amount: float, interval: str = "hourly") -> dict[str, Any]:
    price = {"description": "", "type": "usage", "interval": interval, "amount": amount}
    return {"id": vid, "name": vid, "price": price}


ADDONS = {
    "selected_addons": [
        {"type": "pitr", "variant": _variant("pitr_7", 100, "monthly")},
        {"type": "compute_instance", "variant": _variant("ci_micro", 0.01344)},
    ],
    "available_addons": [
        {"type": "compute_instance", "name": "Compute", "variants": [_variant("ci_small", 0.0206)]},
        {"type": "ipv4", "name": "IPv4", "variants": [_variant("ipv4_default", 4, "monthly")]},
    ],
}


async def test_get_project_parses_and_sends_bearer() -> None:
    """get_project returns ProjectInfo and authenticates with the bearer token."""
    rec = Recorder([httpx.Response(200, json=PROJECT)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        info = await api.get_project(REF)
    assert ProjectInfo(REF, "shop", "ACTIVE_HEALTHY", "eu-central-1") == info
    assert f"Bearer {TOKEN}" == rec.requests[0].headers["Authorization"]
    assert f"/v1/projects/{REF}" == rec.requests[0].url.path


async def test_health_sends_services_and_timeout() -> None:
    """health asks for each service as its own ``services=`` (the spec's exploded array) and
    timeout_ms, and parses each entry."""
    body = [
        {"name": "db", "healthy": True, "status": "ACTIVE_HEALTHY"},
        {"name": "rest", "healthy": False, "status": "UNHEALTHY", "error": "timeout"},
        {"name": "auth", "status": "COMING_UP"},
    ]
    rec = Recorder([httpx.Response(200, json=body)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        found = await api.health(REF, timeout_ms=2000)
    expected = [
        ServiceHealth("db", "ACTIVE_HEALTHY", True, None),
        ServiceHealth("rest", "UNHEALTHY", False, "timeout"),
        ServiceHealth("auth", "COMING_UP", False, None),
    ]
    assert expected == found
    params = rec.requests[0].url.params
    assert (["db", "rest", "auth"], "2000") == (
        params.get_list("services"),
        params["timeout_ms"],
    )


async def test_get_addons_reads_compute_and_monthly_prices() -> None:
    """get_addons finds the compute variant and turns hourly prices into monthly ones."""
    rec = Recorder([httpx.Response(200, json=ADDONS)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        addons = await api.get_addons(REF)
    assert "ci_micro" == addons.compute_variant
    assert Tier.MICRO == addons.compute_tier
    assert {"ci_micro", "ci_small"} == set(addons.monthly_prices)
    assert pytest.approx(0.0206 * 730) == addons.monthly_prices["ci_small"]


async def test_get_addons_without_compute_is_nano() -> None:
    """No compute add-on selected means the Nano size."""
    body: dict[str, list[Any]] = {"selected_addons": [], "available_addons": []}
    rec = Recorder([httpx.Response(200, json=body)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        addons = await api.get_addons(REF)
    assert Addons(None, Tier.NANO, {}) == addons


async def test_set_compute_patches_the_documented_body() -> None:
    """set_compute sends one PATCH with addon_type and addon_variant."""
    rec = Recorder([httpx.Response(200)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        await api.set_compute(REF, "ci_small")
    request = rec.requests[0]
    assert ("PATCH", f"/v1/projects/{REF}/billing/addons") == (request.method, request.url.path)
    assert {"addon_type": "compute_instance", "addon_variant": "ci_small"} == json.loads(
        request.content
    )


async def test_remove_addon_deletes_the_variant() -> None:
    """remove_addon sends DELETE billing/addons/{variant}."""
    rec = Recorder([httpx.Response(200)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        await api.remove_addon(REF, "ci_small")
    request = rec.requests[0]
    assert ("DELETE", f"/v1/projects/{REF}/billing/addons/ci_small") == (
        request.method,
        request.url.path,
    )


def _expected_for_status(status: int) -> tuple[type[ApiError], bool]:
    if status == 429:
        return RateLimited, True
    if status in (401, 403):
        return AuthRejected, False
    return ApiError, status >= 500


ERROR_STATUSES = sorted({s.value for s in HTTPStatus if s.value >= 400} | {522, 544, 599})


@pytest.mark.parametrize("status", ERROR_STATUSES)
async def test_every_error_status_maps_to_an_error(status: int) -> None:
    """Every 4xx/5xx maps to the right error class and transient flag, with the status."""
    rec = Recorder([httpx.Response(status, json={"message": TOKEN})])
    api, http = make_api(rec, VirtualClock(), get_retries=0)
    async with http:
        with pytest.raises(ApiError) as caught:
            await api.set_compute(REF, "ci_small")
    cls, transient = _expected_for_status(status)
    assert (cls, transient, status) == (
        type(caught.value),
        caught.value.transient,
        caught.value.status,
    )
    assert TOKEN not in str(caught.value)


def _request_errors() -> list[type[httpx.RequestError]]:
    found: list[type[httpx.RequestError]] = []
    pending: list[type[httpx.RequestError]] = [httpx.RequestError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__name__)


@pytest.mark.parametrize("exc_type", _request_errors(), ids=lambda c: c.__name__)
async def test_every_transport_error_maps_to_api_error(exc_type: type[httpx.RequestError]) -> None:
    """Every httpx request error maps to ApiError; timeouts and transport errors are transient."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"boom {TOKEN}", request=request)

    api, http = make_api(Recorder(fail), VirtualClock(), get_retries=0)
    async with http:
        with pytest.raises(ApiError) as caught:
            await api.get_project(REF)
    expected = issubclass(exc_type, httpx.TimeoutException | httpx.TransportError)
    assert (ApiError, expected) == (type(caught.value), caught.value.transient)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", json.dumps({**PROJECT, "status": 3}).encode(), b'{"ref": "x"}'],
)
async def test_body_not_matching_the_spec_is_permanent(body: bytes) -> None:
    """A body that is not JSON or lacks required fields is a non-transient ApiError."""
    rec = Recorder([httpx.Response(200, content=body)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        with pytest.raises(ApiError) as caught:
            await api.get_project(REF)
    assert (False, 1) == (caught.value.transient, len(rec.requests))


async def test_rate_limit_blocks_until_reset() -> None:
    """After a 429 the client refuses calls without sending until X-RateLimit-Reset passes."""
    clock = VirtualClock()
    limited = httpx.Response(429, headers={"X-RateLimit-Reset": "30"})
    rec = Recorder([limited, httpx.Response(200, json=PROJECT)])
    api, http = make_api(rec, clock)
    async with http:
        with pytest.raises(RateLimited) as first:
            await api.get_project(REF)
        assert 30.0 == first.value.retry_after_s
        clock.advance(20)
        with pytest.raises(RateLimited) as second:
            await api.set_compute(REF, "ci_small")
        assert (10.0, 1) == (second.value.retry_after_s, len(rec.requests))
        clock.advance(10)
        info = await api.get_project(REF)
    assert (REF, 2) == (info.ref, len(rec.requests))


async def test_rate_limit_without_reset_header_waits_a_minute() -> None:
    """A 429 without X-RateLimit-Reset blocks for the rest of a minute."""
    rec = Recorder([httpx.Response(429)])
    api, http = make_api(rec, VirtualClock())
    async with http:
        with pytest.raises(RateLimited) as caught:
            await api.health(REF)
    assert (60.0, 1) == (caught.value.retry_after_s, len(rec.requests))


async def test_get_retries_transient_errors_then_succeeds() -> None:
    """GETs retry 5xx and timeouts up to get_retries times, sleeping on the clock."""
    clock = VirtualClock()
    rec = Recorder(
        [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(200, json=PROJECT)]
    )
    api, http = make_api(rec, clock, get_retries=2)
    async with http:
        info = await api.get_project(REF)
    assert (REF, 3) == (info.ref, len(rec.requests))
    assert 0 < clock.elapsed <= 8


async def test_get_gives_up_after_retries() -> None:
    """A GET that keeps failing transiently raises after 1 + get_retries attempts."""
    rec = Recorder([httpx.Response(502)])
    api, http = make_api(rec, VirtualClock(), get_retries=2)
    async with http:
        with pytest.raises(ApiError) as caught:
            await api.get_addons(REF)
    assert (502, 3) == (caught.value.status, len(rec.requests))


async def test_get_does_not_retry_permanent_errors() -> None:
    """A 404 or 401 is not retried."""
    rec = Recorder([httpx.Response(404)])
    api, http = make_api(rec, VirtualClock(), get_retries=2)
    async with http:
        with pytest.raises(ApiError):
            await api.get_project(REF)
    assert 1 == len(rec.requests)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("drop"),
    ],
    ids=["500", "503", "timeout", "dropped"],
)
async def test_patch_and_delete_are_never_retried(failure: httpx.Response | Exception) -> None:
    """PATCH and DELETE are sent once, even on transient failures."""
    rec = Recorder([failure])
    api, http = make_api(rec, VirtualClock(), get_retries=5)
    async with http:
        with pytest.raises(ApiError) as patch_error:
            await api.set_compute(REF, "ci_small")
        with pytest.raises(ApiError):
            await api.remove_addon(REF, "ci_small")
    assert (True, ["PATCH", "DELETE"]) == (
        patch_error.value.transient,
        [r.method for r in rec.requests],
    )


def test_repr_hides_the_token() -> None:
    """The client's repr never shows the token."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    api = ManagementApi(http, BASE, SecretStr(TOKEN), clock=VirtualClock())
    assert TOKEN not in repr(api)
    assert TOKEN not in str(vars(api))


@pytest.mark.parametrize(
    ("status", "body", "said", "missing"),
    [
        (401, {"message": "Unauthorized"}, "token invalid or expired (HTTP 401)", ()),
        (403, {"message": "Forbidden"}, "token not allowed (HTTP 403)", ()),
        (
            403,
            {"message": "Forbidden", "missing_permissions": ["database_write"]},
            "token lacks database_write (HTTP 403)",
            ("database_write",),
        ),
    ],
)
async def test_credential_errors_say_what_is_wrong(
    status: int, body: dict[str, Any], said: str, missing: tuple[str, ...]
) -> None:
    """401 reads "token invalid or expired" (tokens always expire now); a 403 names the
    ``missing_permissions`` of its body."""
    rec = Recorder([httpx.Response(status, json=body)])
    api, http = make_api(rec, VirtualClock(), get_retries=0)
    async with http:
        with pytest.raises(AuthRejected) as caught:
            await api.get_project(REF)
    assert str(caught.value).endswith(said)
    assert missing == caught.value.missing_permissions
