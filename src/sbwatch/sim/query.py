"""The simulator's SQL endpoints: ``POST /v1/projects/{ref}/database/query[/read-only]`` on a
real database.

Each simulated project may name a database of the local PostgreSQL (``db_dsn`` in sim.toml);
its queries run there, so what the provider would do with them is what PostgreSQL does: a
query of several statements is one implicit transaction, ``read_only`` runs it in a read-only
one; ``parameters`` fill ``$1``, ``$2``... of a one-statement query; ``.../query/read-only``
runs in a read-only transaction (the provider's ``supabase_read_only_user``). The answer is
201 with the rows of the last statement; a failure is 500 with the provider's wording
(``Failed to run sql query: ERROR:  <sqlstate>: <message>``), as the published spec lists it.
Bearer auth, rate limit and injected faults are the other routes'.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sbwatch.data.migrations import split_statements
from sbwatch.sim.mgmt import _guard  # the outage, auth, rate limit and faults of every /v1 route
from sbwatch.sim.world import SimWorld

if TYPE_CHECKING:
    from sbwatch.sim.app import RateLimiter

CONNECT_TIMEOUT_S = 10.0


def query_routes(
    world: SimWorld, token: str, limiter: RateLimiter, dsns: Mapping[str, str]
) -> list[Route]:
    """The SQL routes (``query`` and ``query/read-only``), for the projects that have a database."""

    def handler(read_only_route: bool) -> Callable[[Request], Awaitable[Response]]:
        async def run_query(request: Request) -> Response:
            ref = request.path_params["ref"]
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _error(400, "body: not JSON")
            parsed = _parse_body(body, read_only_route)
            if isinstance(parsed, str):
                return _error(400, parsed)
            query, parameters, read_only = parsed
            if ref not in dsns:
                return _error(
                    500, "Failed to run sql query: this simulated project has no database"
                )
            try:
                rows = await _run(dsns[ref], query, parameters, read_only)
            except (OSError, TimeoutError) as exc:
                return _error(500, f"Failed to run sql query: connection failed ({exc})")
            except asyncpg.PostgresError as exc:
                return _error(500, f"Failed to run sql query: ERROR:  {exc.sqlstate}: {exc}")
            except asyncpg.DataError as exc:  # a parameter PostgreSQL cannot take for its $n
                return _error(500, f"Failed to run sql query: ERROR:  22P02: {exc}")
            return JSONResponse([_row(row) for row in rows], status_code=201)

        return _guard(world, token, limiter, run_query)

    base = "/v1/projects/{ref}/database/query"
    return [
        Route(base, handler(False), methods=["POST"]),
        Route(f"{base}/read-only", handler(True), methods=["POST"]),
    ]


def _parse_body(body: Any, read_only_route: bool) -> tuple[str, list[Any], bool] | str:
    """(query, parameters, read_only) of a V1RunQueryBody (V1ReadOnlyQueryBody on the read-only
    route), or what is wrong with it, naming the field."""
    if not isinstance(body, dict):
        return "body: must be an object {query, parameters?, read_only?}"
    query = body.get("query")
    if not isinstance(query, str) or not query:
        return "query: must be a non-empty string"
    parameters = body.get("parameters", [])
    if not isinstance(parameters, list):
        return "parameters: must be an array"
    read_only = body.get("read_only", False)
    if not read_only_route and not isinstance(read_only, bool):
        return "read_only: must be a boolean"
    if not query.strip():
        return "query: must hold a statement"
    return query, parameters, read_only_route or bool(read_only)


async def _run(dsn: str, query: str, parameters: list[Any], read_only: bool) -> list[Any]:
    """The rows of the last statement; several statements run as one transaction."""
    conn = await asyncpg.connect(
        dsn, timeout=CONNECT_TIMEOUT_S, server_settings={"application_name": "sbwatch-sim"}
    )
    try:
        if read_only:
            async with conn.transaction(readonly=True):
                return await _fetch(conn, query, parameters)
        return await _fetch(conn, query, parameters)
    finally:
        await conn.close()


async def _fetch(conn: Any, query: str, parameters: list[Any]) -> list[Any]:
    statements = [s for s in split_statements(query) if _code(s)]
    if parameters or len(statements) < 2:  # $1, $2...: one statement, as PostgreSQL allows
        return list(await conn.fetch(query, *parameters))
    # Several statements: the rows of the last, the others run before it; together one
    # transaction (as the simple protocol's implicit one) unless they steer transactions
    # themselves (their own BEGIN/COMMIT, VACUUM, CONCURRENTLY).
    if conn.is_in_transaction() or _steers_transactions(statements):
        return await _each(conn, statements)
    async with conn.transaction():
        return await _each(conn, statements)


async def _each(conn: Any, statements: list[str]) -> list[Any]:
    for statement in statements[:-1]:
        await conn.execute(statement)
    return list(await conn.fetch(statements[-1]))


def _code(statement: str) -> bool:
    """Whether a chunk holds more than comments."""
    stripped = re.sub(r"--[^\n]*", "", statement)
    return bool(re.sub(r"/\*.*?\*/", "", stripped, flags=re.DOTALL).strip())


def _steers_transactions(statements: list[str]) -> bool:
    words = [re.sub(r"^(\s*(--[^\n]*|/\*.*?\*/))*\s*", "", s, flags=re.DOTALL) for s in statements]
    control = ("begin", "commit", "rollback", "start", "end", "abort", "vacuum")
    return any(w.lower().startswith(control) or "concurrently" in w.lower() for w in words)


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
