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
from collections.abc import AsyncIterator, Callable
from typing import cast

import httpx

PER_ORIGIN = 32
"""Connections kept per origin: the Management API is one origin for every project."""
IN_FLIGHT = 200
"""Requests in flight at once, over every origin; more wait for a slot."""


class _Released(httpx.AsyncByteStream):
    """A response body that gives its slot back when it is closed (read to the end or not)."""

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


class OriginPools(httpx.AsyncBaseTransport):
    """An httpx transport with one connection pool per (scheme, host, port), made on first use."""

    def __init__(self, *, per_origin: int = PER_ORIGIN, in_flight: int = IN_FLIGHT) -> None:
        self._ssl = httpx.create_ssl_context()  # one certificate store for every pool
        self._limits = httpx.Limits(
            max_connections=per_origin, max_keepalive_connections=per_origin
        )
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        self._slots = asyncio.Semaphore(in_flight)

    @property
    def origins(self) -> int:
        """How many origins have a pool."""
        return len(self._pools)

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
            self._pools[key] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool(request.url)
        await self._slots.acquire()
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        body = cast(httpx.AsyncByteStream, response.stream)  # an async transport's answer
        response.stream = _Released(body, self._slots.release)
        return response

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


def http_client() -> httpx.AsyncClient:
    """The one HTTP client every probe and API call shares: keep-alive per origin, timed."""
    return httpx.AsyncClient(
        transport=OriginPools(),
        timeout=httpx.Timeout(10.0, connect=5.0),
        headers={"User-Agent": "sbwatch"},
    )
