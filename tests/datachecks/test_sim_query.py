"""The simulator's SQL endpoints on a real database: the spec's ``parameters``, the read-only
route, and the last statement's rows of a query of several."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from tests.datachecks.conftest import Database
from tests.sim.conftest import validate_request, validate_response

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.app import create_app
from sbwatch.sim.world import SimWorld

pytestmark = pytest.mark.integration

REF = "simqueryaaaaaaaaaaaa"
TOKEN = "sbp_" + "c0ffee" * 6 + "c0ff"
SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "supabase-mgmt-openapi.json"
QUERY = f"/v1/projects/{REF}/database/query"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def spec() -> OpenAPI:
    """The provider's published document."""
    document = json.loads(SPEC.read_text(encoding="utf-8"))
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@pytest.fixture
async def http(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an in-process simulator whose project runs SQL on the test's database."""
    world = SimWorld(VirtualClock())
    world.add_project(REF, Tier.MICRO)
    app = create_app(world, token=TOKEN, query_dsns={REF: database.dsn})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        yield client


async def post(
    spec: OpenAPI, http: httpx.AsyncClient, body: dict[str, Any], path: str = QUERY
) -> httpx.Response:
    """POST a query, the request and its answer both checked against the spec."""
    response = await http.post(path, headers=BEARER, json=body)
    validate_request(spec, response.request)
    validate_response(spec, response)
    return response


async def test_parameters_fill_the_placeholders(spec: OpenAPI, http: httpx.AsyncClient) -> None:
    """The spec's ``parameters`` fill $1, $2...; one PostgreSQL cannot take is a 500."""
    body = {"query": "SELECT $1::int + 1 AS n, $2::text AS s", "parameters": [41, "x"]}
    response = await post(spec, http, body)
    assert (201, [{"n": 42, "s": "x"}]) == (response.status_code, response.json())
    wrong = await post(spec, http, {"query": "SELECT $1::int AS n", "parameters": ["many"]})
    assert 500 == wrong.status_code
    assert wrong.json()["message"].startswith("Failed to run sql query: ")


async def test_last_statements_rows(spec: OpenAPI, http: httpx.AsyncClient) -> None:
    """A query of several statements answers the rows of its last, as the provider does; the
    statements run as one transaction: a failing last one leaves nothing behind."""
    query = (
        "CREATE TABLE public.t (a int); INSERT INTO public.t VALUES (1), (2);\n"
        "-- the count; ; in a comment\nSELECT count(*) AS n FROM public.t;"
    )
    response = await post(spec, http, {"query": query})
    assert (201, [{"n": 2}]) == (response.status_code, response.json())
    failing = await post(spec, http, {"query": "CREATE TABLE public.u (a int); SELECT 1/0"})
    assert 500 == failing.status_code
    left = await post(spec, http, {"query": "SELECT to_regclass('public.u') IS NULL AS gone"})
    assert [{"gone": True}] == left.json()
    own = await post(
        spec, http, {"query": "BEGIN; CREATE TABLE public.v (a int); COMMIT; SELECT 7 AS seven"}
    )
    assert (201, [{"seven": 7}]) == (own.status_code, own.json())


async def test_read_only_route(spec: OpenAPI, http: httpx.AsyncClient) -> None:
    """``.../query/read-only`` answers reads and refuses writes (a read-only transaction)."""
    path = f"{QUERY}/read-only"
    read = await post(spec, http, {"query": "SELECT 1 AS one; SELECT 2 AS two"}, path)
    assert (201, [{"two": 2}]) == (read.status_code, read.json())
    write = await post(spec, http, {"query": "CREATE TABLE public.w (a int)"}, path)
    assert 500 == write.status_code
    assert "25006" in write.json()["message"]
