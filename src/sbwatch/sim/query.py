"""The simulator's SQL endpoint: ``POST /v1/projects/{ref}/database/query`` on a real database.

Each simulated project may name a database of the local PostgreSQL (``db_dsn`` in sim.toml);
its queries run there, so what the provider would do with them is what PostgreSQL does: a
query of several statements is one implicit transaction, ``read_only`` runs it in a read-only
one. The answer is 201 with the rows of the last statement; a failure is 500 with the
provider's wording (``Failed to run sql query: ERROR:  <sqlstate>: <message>``), as the
published spec lists it. Bearer auth, rate limit and injected faults are the other routes'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sbwatch.sim.mgmt import _guard  # the outage, auth, rate limit and faults of every /v1 route
from sbwatch.sim.world import SimWorld

if TYPE_CHECKING:
    from sbwatch.sim.app import RateLimiter

CONNECT_TIMEOUT_S = 10.0
_MANY = "cannot insert multiple commands into a prepared statement"


def query_routes(
    world: SimWorld, token: str, limiter: RateLimiter, dsns: Mapping[str, str]
) -> list[Route]:
    """The SQL route, for the projects that have a database."""

    async def run_query(request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            body = json.loads(await request.body())
            query, read_only = body["query"], bool(body.get("read_only", False))
        except (ValueError, KeyError, TypeError):
            return _error(400, "body must be {query, read_only?}")
        if not isinstance(query, str) or not query.strip():
            return _error(400, "query must be a non-empty string")
        if ref not in dsns:
            return _error(500, "Failed to run sql query: this simulated project has no database")
        try:
            rows = await _run(dsns[ref], query, read_only)
        except (OSError, TimeoutError) as exc:
            return _error(500, f"Failed to run sql query: connection failed ({exc})")
        except asyncpg.PostgresError as exc:
            return _error(500, f"Failed to run sql query: ERROR:  {exc.sqlstate}: {exc}")
        return JSONResponse([_row(row) for row in rows], status_code=201)

    return [
        Route(
            "/v1/projects/{ref}/database/query",
            _guard(world, token, limiter, run_query),
            methods=["POST"],
        )
    ]


async def _run(dsn: str, query: str, read_only: bool) -> list[Any]:
    """The rows of the last statement; several statements run as one transaction."""
    conn = await asyncpg.connect(
        dsn, timeout=CONNECT_TIMEOUT_S, server_settings={"application_name": "sbwatch-sim"}
    )
    try:
        if read_only:
            async with conn.transaction(readonly=True):
                return await _fetch(conn, query)
        return await _fetch(conn, query)
    finally:
        await conn.close()


async def _fetch(conn: Any, query: str) -> list[Any]:
    try:
        return list(await conn.fetch(query))
    except asyncpg.PostgresSyntaxError as exc:
        if _MANY not in str(exc):
            raise
    # Several statements: the simple protocol, one implicit transaction (inside ours when
    # read-only); it answers no rows, so neither does this (the real endpoint would answer the
    # last statement's).
    await conn.execute(query)
    return []


def _row(record: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in record.items()}


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)
