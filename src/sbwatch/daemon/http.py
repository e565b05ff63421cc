"""The daemon's one HTTP client: a small keep-alive pool per origin, a cap on requests in flight.

A fleet reaches a thousand origins (one per project, the Management API, the status page). One
pool for all of them keeps too few connections for so many hosts, and httpcore's pool scans
every connection and every waiting request at each assignment, so its cost grows with the
square of what it holds. One pool per origin keeps each scan short; one semaphore over all of
them bounds the sockets and the memory an outage (every request waiting for its timeout) can
take.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from typing import cast

import httpx

if importlib.util.find_spec("sniffio") is None:
    # httpcore imports sniffio at every lock and event it sets up, to learn the event loop in
    # use, and takes asyncio when it is missing. A missing module is not cached by Python, so
    # each of those imports searched the whole path again (7% of a fleet's CPU); marked
    # absent, the import fails at once, with the same answer.
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

PER_ORIGIN = 32
"""Requests in flight per origin, each on its own kept connection (the Management API is one
origin for every project)."""
IN_FLIGHT = 200
"""Requests in flight at once, over every origin; more wait for a slot."""


class _Released(httpx.AsyncByteStream):
    """A response body that gives its slots back when it is closed (read to the end or not)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release = release
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if not self._released:
                self._released = True
                self._release()


class _Origin:
    """One origin's pool, and the slots that keep its requests within its connections."""

    def __init__(self, transport: httpx.AsyncHTTPTransport, slots: int) -> None:
        self.transport = transport
        self.slots = asyncio.Semaphore(slots)


class OriginPools(httpx.AsyncBaseTransport):
    """An httpx transport with one connection pool per (scheme, host, port), made on first use.

    A request waits for its slots here, not in httpcore's queue: a pool never holds more
    requests than connections, so the pool's scan at each request stays as short as its
    connections.
    """

    def __init__(self, *, per_origin: int = PER_ORIGIN, in_flight: int = IN_FLIGHT) -> None:
        self._ssl = httpx.create_ssl_context()  # one certificate store for every pool
        self._per_origin = per_origin
        self._limits = httpx.Limits(
            max_connections=per_origin, max_keepalive_connections=per_origin
        )
        self._origins: dict[tuple[bytes, bytes, int | None], _Origin] = {}
        self._slots = asyncio.Semaphore(in_flight)

    @property
    def origins(self) -> int:
        """How many origins have a pool."""
        return len(self._origins)

    def _origin(self, url: httpx.URL) -> _Origin:
        key = (url.raw_scheme, url.raw_host, url.port)
        origin = self._origins.get(key)
        if origin is None:
            transport = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
            origin = self._origins[key] = _Origin(transport, self._per_origin)
        return origin

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = self._origin(request.url)
        await self._slots.acquire()
        try:
            await origin.slots.acquire()
        except BaseException:
            self._slots.release()
            raise

        def release() -> None:
            origin.slots.release()
            self._slots.release()

        try:
            response = await origin.transport.handle_async_request(request)
        except BaseException:
            release()
            raise
        body = cast(httpx.AsyncByteStream, response.stream)  # an async transport's answer
        response.stream = _Released(body, release)
        return response

    async def aclose(self) -> None:
        for origin in self._origins.values():
            await origin.transport.aclose()


def http_client() -> httpx.AsyncClient:
    """The one HTTP client every probe and API call shares: keep-alive per origin, timed."""
    return httpx.AsyncClient(
        transport=OriginPools(),
        timeout=httpx.Timeout(10.0, connect=5.0),
        headers={"User-Agent": "sbwatch"},
    )
