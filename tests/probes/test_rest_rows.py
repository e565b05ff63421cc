"""The REST probe's ``expect_rows``: a row the operator names must come back, asked with the
project's public key so that row-level security applies as for its users."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from tests.probes.conftest import REF, SERVICE_KEY, make_ctx, mock_client

from sbwatch.config.settings import ProbeSettings, ProjectSettings, Settings
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes.rest import RestProbe

ANON = "anon-public-key-leakcheck-9d9d"


def settings(table: str | None, anon: str | None = ANON) -> Settings:
    """One project whose rest probe expects a row of ``table``."""
    rest = ProbeSettings(timeout=timedelta(seconds=2), expect_rows=table)
    project = ProjectSettings(
        ref=REF,
        service_key=SecretStr(SERVICE_KEY),
        anon_key=None if anon is None else SecretStr(anon),
        probes={ProbeKind.REST: rest},
    )
    return Settings(projects=[project])


async def run(
    config: Settings, body: object, status: int = 200
) -> tuple[ProbeResult, httpx.Request]:
    """Run the probe once against an answer; the result and the request it sent."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    async with mock_client(handler) as http:
        result = await RestProbe(make_ctx(config, http)).run()
    return result, seen[0]


async def test_a_row_is_ok_and_asked_with_the_public_key() -> None:
    """One row back is ok; the request asks one row of the view, in its schema, with the
    public key (row-level security applies), never the service key."""
    result, request = await run(settings("health.canary"), [{"id": 1}])
    assert (Outcome.OK, "health.canary: a row") == (result.outcome, result.detail)
    assert "/rest/v1/canary" == request.url.path
    assert ("*", "1") == (request.url.params["select"], request.url.params["limit"])
    assert "health" == request.headers["accept-profile"]
    assert (ANON, f"Bearer {ANON}") == (request.headers["apikey"], request.headers["authorization"])
    assert SERVICE_KEY not in str(request.headers)


async def test_no_row_is_a_failure() -> None:
    """200 with ``[]`` (what broken row-level security answers) fails, saying so."""
    result, _ = await run(settings("canary"), [])
    assert Outcome.FAIL == result.outcome
    assert result.detail.startswith("canary answered no row (row-level security")
    assert ANON not in result.detail


async def test_not_rows_and_errors_fail() -> None:
    """A body that is not a list of rows fails; an error status is the usual failure."""
    result, _ = await run(settings("canary"), {"message": "hi"})
    assert (Outcome.FAIL, "canary: not a list of rows") == (result.outcome, result.detail)
    result, _ = await run(settings("canary"), {"message": "permission denied"}, status=401)
    assert (Outcome.FAIL, 401) == (result.outcome, result.status_code)


async def test_without_expect_rows_the_root_is_asked() -> None:
    """Without expect_rows the probe asks the REST root with the service key, as before."""
    result, request = await run(settings(None, anon=None), {"paths": {}})
    assert (Outcome.OK, "/rest/v1/") == (result.outcome, request.url.path)
    assert SERVICE_KEY == request.headers["apikey"]


@pytest.mark.parametrize(
    ("probes", "error"),
    [
        ({"rest": {"expect_rows": "canary; drop"}}, "expect_rows"),
        ({"auth": {"expect_rows": "canary"}}, "probes.auth.expect_rows: only the rest probe"),
    ],
)
def test_expect_rows_is_validated(probes: dict[str, object], error: str) -> None:
    """A name that is no table or view, or expect_rows on another probe, is refused, named."""
    with pytest.raises(ValidationError, match=error.replace(".", r"\.")):
        ProjectSettings(ref=REF, service_key=SecretStr(SERVICE_KEY), probes=probes)  # type: ignore[arg-type]  # validated dict
