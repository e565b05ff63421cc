"""The simulator's HTTP app: Management API subset, project endpoints, status page, control API."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sbwatch.core.clock import Clock
from sbwatch.sim.endpoints import project_routes, status_routes
from sbwatch.sim.hardware import machine
from sbwatch.sim.mgmt import mgmt_routes
from sbwatch.sim.query import query_routes
from sbwatch.sim.world import SimWorld

SIM_TOKEN = "sbp_" + "5eed" * 10
"""The token a simulator accepts unless told another: the real format, ``sbp_`` + 40 hex."""
TOKEN_PATTERN = re.compile(r"sbp_(oauth_)?[a-f0-9]{40}")
"""The shape of the provider's personal access (or OAuth) tokens; its CLI refuses any other."""
TOKEN_RULE = "sbp_ and 40 hex digits, the shape of a real personal access token"
RATE_LIMIT = 120
RATE_WINDOW_S = 60.0
_HOST = re.compile(r"^([a-z0-9]{20})\.supabase\.co(?::\d+)?$")

Handler = Callable[[Request], Awaitable[Response]]


class RateLimiter:
    """120 requests a minute per token and project; over it, 429 for the rest of the minute."""

    def __init__(
        self, clock: Clock, limit: int = RATE_LIMIT, window_s: float = RATE_WINDOW_S
    ) -> None:
        self._clock = clock
        self.limit = limit
        self._window_s = window_s
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, token: str, ref: str) -> tuple[bool, dict[str, str]]:
        """Count one request; return whether it is allowed and the X-RateLimit-* headers."""
        now = self._clock.monotonic()
        start, count = self.count(token, ref)
        reset = max(1, math.ceil(start + self._window_s - now))
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - count)),
            "X-RateLimit-Reset": str(reset),
        }
        return count <= self.limit, headers

    def count(self, token: str, ref: str) -> tuple[float, int]:
        """Count one request, headers apart; the window's start and its count with this one."""
        now = self._clock.monotonic()
        start, count = self._windows.get((token, ref), (now, 0))
        if now - start >= self._window_s:
            start, count = now, 0
        count += 1
        self._windows[(token, ref)] = (start, count)
        return start, count

    def room(self, token: str, ref: str, hits: int) -> bool:
        """Whether ``hits`` more requests now would all be allowed (nothing is counted)."""
        now = self._clock.monotonic()
        start, count = self._windows.get((token, ref), (now, 0))
        if now - start >= self._window_s:
            count = 0
        return count + hits <= self.limit


class HostRouting:
    """Serve ``<ref>.supabase.co/<path>`` as ``/p/<ref>/<path>``: one port, every project."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the path of project requests selected by the Host header."""
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            match = _HOST.match(host)
            path = scope["path"]
            if match and not path.startswith(("/p/", "/_sim/", "/v1/", "/status/")):
                scope = dict(scope)
                scope["path"] = f"/p/{match.group(1)}{path}"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def control_routes(world: SimWorld) -> list[Route]:
    """The /_sim control API: events, truth, stats, projects."""

    async def events(request: Request) -> Response:
        try:
            event = json.loads(await request.body())
            if not isinstance(event, dict):
                raise ValueError("an event is a JSON object")
            world.apply(event)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"applied": event})

    async def truth(request: Request) -> Response:
        ref = request.path_params["ref"]
        if ref not in world.projects:
            return JSONResponse({"error": f"unknown project {ref!r}"}, status_code=404)
        return JSONResponse(world.truth(ref))

    async def stats(request: Request) -> Response:
        world.sync()
        return JSONResponse(world.stats())

    async def projects(request: Request) -> Response:
        try:
            body: dict[str, Any] = json.loads(await request.body())
            ref = str(body["ref"])
            if not re.fullmatch(r"[a-z]{20}", ref):
                raise ValueError("ref must be 20 lowercase letters")
            size = machine(str(body.get("tier", "micro"))).size
            factor = float(body.get("true_limits_factor", 1.0))
            world.add_project(
                ref, size, float(body.get("budget_pct", 100)), true_limits_factor=factor
            )
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"bad project: {exc}"}, status_code=400)
        return JSONResponse(world.truth(ref), status_code=201)

    return [
        Route("/_sim/events", events, methods=["POST"]),
        Route("/_sim/truth/{ref}", truth, methods=["GET"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/projects", projects, methods=["POST"]),
    ]


async def _json_error(request: Request, exc: HTTPException) -> Response:
    """An unknown route or method answers JSON, as every route of the provider does."""
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(
    world: SimWorld,
    *,
    token: str = SIM_TOKEN,
    service_key: str = "sim-service-key",
    query_dsns: Mapping[str, str] | None = None,
) -> Starlette:
    """One Starlette app serving every simulated endpoint; unknown routes answer a JSON 404.

    ``token``: the one bearer token the Management API accepts; ValueError unless it has the
    real format (the provider's CLI refuses any other shape before sending, so a simulator
    accepting one would hide a client that could never talk to the provider).
    ``query_dsns``: the local database each project's SQL endpoint runs its queries on.
    """
    if not TOKEN_PATTERN.fullmatch(token):
        raise ValueError(f"token: must be {TOKEN_RULE}")
    limiter = RateLimiter(world.clock)
    routes = [
        *mgmt_routes(world, token, limiter),
        *query_routes(world, token, limiter, query_dsns or {}),
        *project_routes(world, service_key),
        *status_routes(world),
        *control_routes(world),
    ]
    handlers = {code: _json_error for code in (404, 405)}
    app = Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]  # Starlette types handlers loosely
    app.state.limiter = limiter  # the replay's fast path counts requests it answers itself
    app.add_middleware(HostRouting)
    return app
