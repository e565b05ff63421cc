"""``ManagementApi.run_query``: the documented body, rows back, errors with the provider's words."""

from __future__ import annotations

import json

import httpx
import pytest
from tests.probes.test_mgmt_api import BASE, REF, TOKEN, Recorder, make_api

from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import ApiError, AuthRejected, RateLimited


async def test_a_query_posts_the_documented_body_and_returns_the_rows() -> None:
    """POST .../database/query with {query, read_only}; the rows come back as dicts."""
    recorder = Recorder([httpx.Response(201, json=[{"one": 1}])])
    api, http = make_api(recorder, VirtualClock())
    async with http:
        rows = await api.run_query(REF, "SELECT 1 AS one", read_only=True)
        await api.run_query(REF, "SELECT 1")
    assert [{"one": 1}] == rows
    first, second = recorder.requests
    assert ("POST", f"{BASE}/v1/projects/{REF}/database/query") == (
        first.method,
        str(first.url),
    )
    assert {"query": "SELECT 1 AS one", "read_only": True} == json.loads(first.content)
    assert {"query": "SELECT 1"} == json.loads(second.content)
    assert f"Bearer {TOKEN}" == first.headers["authorization"]


async def test_an_error_keeps_the_providers_words_and_retry_after_but_never_the_token() -> None:
    """A 500 carries the body's message (the token scrubbed) and Retry-After; never resent."""
    body = {"message": f"Failed to run sql query: ERROR: 42P01: nope (token {TOKEN})"}
    recorder = Recorder([httpx.Response(500, json=body, headers={"Retry-After": "7"})])
    api, http = make_api(recorder, VirtualClock())
    async with http:
        with pytest.raises(ApiError) as raised:
            await api.run_query(REF, "SELECT nope")
    error = raised.value
    assert (500, 7.0, True) == (error.status, error.retry_after_s, error.transient)
    assert "Failed to run sql query: ERROR: 42P01: nope (token ***)" == error.provider_message
    assert TOKEN not in str(error) + error.provider_message
    assert 1 == len(recorder.requests)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(429, headers={"X-RateLimit-Reset": "12"}), RateLimited),
        (httpx.Response(401), AuthRejected),
        (httpx.Response(201, json={"not": "rows"}), ApiError),
        (httpx.Response(201, text="not json"), ApiError),
    ],
)
async def test_query_failures_map_to_errors(answer: httpx.Response, error: type[ApiError]) -> None:
    """Rate limit, rejected token and a body that is not rows each raise their error, once."""
    recorder = Recorder([answer])
    api, http = make_api(recorder, VirtualClock())
    async with http:
        with pytest.raises(error):
            await api.run_query(REF, "SELECT 1")
    assert 1 == len(recorder.requests)
