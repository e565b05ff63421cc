"""REST and auth probes over real sockets: a local server on 127.0.0.1, slow and refused ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tests.probes.conftest import REF, SERVICE_KEY, make_ctx, make_settings
from tests.servers import free_port

from sbwatch.core.clock import SystemClock
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import build_probe


class LocalProject:
    """A project stand-in: /p/ok answers, /p/slow waits until released, /p/down says 522."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def app(self) -> Starlette:
        """The ASGI app."""

        async def rest(request: Request) -> Response:
            mode = request.path_params["mode"]
            if request.headers.get("apikey") != SERVICE_KEY:
                return JSONResponse({"message": "bad key"}, status_code=401)
            if mode == "slow":
                await self.release.wait()
            if mode == "down":
                return Response(b"origin timeout", status_code=522)
            return JSONResponse({"swagger": "2.0", "paths": {}})

        async def auth(request: Request) -> Response:
            if request.path_params["mode"] == "slow":
                await self.release.wait()
            return JSONResponse({"name": "GoTrue", "version": "v2"})

        return Starlette(
            routes=[
                Route("/p/{mode}/rest/v1/", rest),
                Route("/p/{mode}/auth/v1/health", auth),
            ]
        )

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1 and wait until it listens."""
        self.port = free_port()
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:  # noqa: ASYNC110  # uvicorn exposes a flag, not an event
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Release slow requests and shut the server down."""
        self.release.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            async with asyncio.timeout(10):
                await self._task


@pytest.fixture
async def local_project() -> AsyncIterator[LocalProject]:
    """A running LocalProject."""
    project = LocalProject()
    await project.start()
    try:
        yield project
    finally:
        await project.stop()


async def _run(kind: ProbeKind, base_url: str, timeout_s: float = 2.0) -> ProbeResult:
    async with httpx.AsyncClient() as http:
        settings = make_settings(url=base_url, timeout_s=timeout_s)
        probe = build_probe(kind, make_ctx(settings, http, SystemClock()))
        try:
            return await probe.run()
        finally:
            await probe.aclose()


@pytest.mark.parametrize("kind", [ProbeKind.REST, ProbeKind.AUTH])
async def test_ok_over_real_http(local_project: LocalProject, kind: ProbeKind) -> None:
    """REST and auth are ok against a real server answering 200."""
    result = await _run(kind, f"http://127.0.0.1:{local_project.port}/p/ok")
    assert (Outcome.OK, 200, REF) == (result.outcome, result.status_code, result.project)
    assert 0 < result.duration_s < 2


@pytest.mark.parametrize("kind", [ProbeKind.REST, ProbeKind.AUTH])
async def test_slow_endpoint_hits_the_timeout(local_project: LocalProject, kind: ProbeKind) -> None:
    """An endpoint slower than the probe timeout is outcome timeout, in about that time."""
    result = await _run(kind, f"http://127.0.0.1:{local_project.port}/p/slow", timeout_s=0.3)
    assert (Outcome.TIMEOUT, "no answer in time") == (result.outcome, result.detail)
    assert 0.3 <= result.duration_s < 2


async def test_origin_timeout_status(local_project: LocalProject) -> None:
    """A real 522 answer is outcome timeout 'origin timeout (522)'."""
    result = await _run(ProbeKind.REST, f"http://127.0.0.1:{local_project.port}/p/down")
    assert (Outcome.TIMEOUT, "origin timeout (522)", 522) == (
        result.outcome,
        result.detail,
        result.status_code,
    )


@pytest.mark.parametrize("kind", [ProbeKind.REST, ProbeKind.AUTH])
async def test_refused_port_is_an_error(kind: ProbeKind) -> None:
    """Nothing listening on the port: outcome error 'connection refused'."""
    result = await _run(kind, f"http://127.0.0.1:{free_port()}/p/ok")
    assert (Outcome.ERROR, "connection refused") == (result.outcome, result.detail)


async def test_tls_to_a_plain_server_is_an_error(local_project: LocalProject) -> None:
    """Speaking TLS to a plain HTTP port is outcome error 'TLS handshake failed'."""
    result = await _run(ProbeKind.AUTH, f"https://127.0.0.1:{local_project.port}/p/ok")
    assert (Outcome.ERROR, "TLS handshake failed") == (result.outcome, result.detail)
