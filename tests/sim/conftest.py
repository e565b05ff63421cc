"""Fixtures of the simulator tests: a world on a virtual clock, its app, clients, servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.world import SimWorld, create_app

REF = "abcdefghijklmnopqrst"
OTHER = "qrstuvwxyzabcdefghij"
TOKEN = "sbp_009b4be123069dc94a84aed7e11ad221ad1670ee"
KEY = "test-service-key"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock."""
    return VirtualClock()


@pytest.fixture
def world(clock: VirtualClock) -> SimWorld:
    """A world with one micro project, full budget, resize window 120 s."""
    sim = SimWorld(clock, resize_seconds=120.0)
    sim.add_project(REF, Tier.MICRO)
    return sim


@pytest.fixture
async def client(world: SimWorld) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of the simulator app."""
    app = create_app(world, token=TOKEN, service_key=KEY)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        yield http


class LiveServer:
    """A uvicorn server on a free 127.0.0.1 port, started and stopped by a fixture."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve, and return once listening."""
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        async with asyncio.timeout(10):
            while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no event
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()


async def wait_for(condition: Any, timeout: float = 10.0, interval: float = 0.05) -> None:  # noqa: ASYNC109 - a deadline helper
    """Poll an (async or sync) condition until true, failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(interval)


class _OpenApiRequest:
    """openapi-core's request protocol over an httpx request."""

    def __init__(self, request: httpx.Request) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.path = request.url.path
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "application/json")
        query = ImmutableMultiDict(list(request.url.params.multi_items()))
        self.parameters = RequestParameters(query=query, header=Headers(dict(request.headers)))


class _OpenApiResponse:
    """openapi-core's response protocol over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content or None


def validate_request(spec: Any, request: httpx.Request) -> None:
    """Raise if the request does not match the OpenAPI document."""
    spec.validate_request(_OpenApiRequest(request))


def validate_response(spec: Any, response: httpx.Response) -> None:
    """Raise if the response (to its request) does not match the OpenAPI document."""
    spec.validate_response(_OpenApiRequest(response.request), _OpenApiResponse(response))
