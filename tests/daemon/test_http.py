"""The daemon's HTTP client: one pool per origin, and a cap on requests in flight."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from sbwatch.daemon.http import OriginPools

DEADLINE_S = 10.0
HELD_S = 3 * DEADLINE_S
"""A held request's timeout: none times out (freeing its slot) while the test holds it, even
on a busy machine."""


class Origin:
    """A loopback HTTP server that can hold its answers until released."""

    def __init__(self) -> None:
        self.arrived = 0
        self.release = threading.Event()
        self.release.set()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                origin.arrived += 1
                origin.release.wait(DEADLINE_S)
                body = b"x" * 10_000
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def origins() -> Iterator[tuple[Origin, Origin]]:
    pair = (Origin(), Origin())
    yield pair
    for origin in pair:
        origin.release.set()
        origin.server.shutdown()
        origin.server.server_close()


async def test_each_origin_has_its_own_pool(origins: tuple[Origin, Origin]) -> None:
    transport = OriginPools()
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(3):
            for origin in origins:
                assert 200 == (await client.get(origin.url)).status_code
        assert 2 == transport.origins


async def test_no_more_than_the_cap_are_in_flight(origins: tuple[Origin, Origin]) -> None:
    """Five requests, two slots: two reach the server while it holds them; the rest follow."""
    first, second = origins
    first.release.clear()
    async with httpx.AsyncClient(transport=OriginPools(in_flight=2), timeout=HELD_S) as client:
        calls = [asyncio.create_task(client.get(first.url)) for _ in range(3)]
        calls += [asyncio.create_task(client.get(second.url)) for _ in range(2)]
        async with asyncio.timeout(DEADLINE_S):
            while first.arrived + second.arrived < 2:  # noqa: ASYNC110 - a thread's counter
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # a third would have arrived by now
        assert 2 == first.arrived + second.arrived
        first.release.set()
        answers = await asyncio.gather(*calls)
    assert [200] * 5 == [answer.status_code for answer in answers]


async def test_a_body_left_unread_gives_its_slot_back(origins: tuple[Origin, Origin]) -> None:
    origin = origins[0]
    async with httpx.AsyncClient(transport=OriginPools(in_flight=1)) as client:
        for _ in range(3):
            async with client.stream("GET", origin.url) as answer:
                assert 200 == answer.status_code  # closed without reading the body
        async with asyncio.timeout(DEADLINE_S):
            assert 200 == (await client.get(origin.url)).status_code


async def test_a_refused_connection_gives_its_slot_back() -> None:
    async with httpx.AsyncClient(transport=OriginPools(in_flight=1)) as client:
        async with asyncio.timeout(DEADLINE_S):
            for _ in range(3):
                with pytest.raises(httpx.ConnectError):
                    await client.get("http://127.0.0.1:9/")


async def test_an_origin_has_no_more_in_flight_than_its_connections(
    origins: tuple[Origin, Origin],
) -> None:
    """Two per origin: a held origin gets two of its four requests; the other is not held up."""
    first, second = origins
    first.release.clear()
    async with httpx.AsyncClient(transport=OriginPools(per_origin=2), timeout=HELD_S) as client:
        held = [asyncio.create_task(client.get(first.url)) for _ in range(4)]
        async with asyncio.timeout(DEADLINE_S):
            assert 200 == (await client.get(second.url)).status_code
            while first.arrived < 2:  # noqa: ASYNC110 - a thread's counter
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # a third would have arrived by now
        assert 2 == first.arrived
        first.release.set()
        answers = await asyncio.gather(*held)
    assert [200] * 4 == [answer.status_code for answer in answers]
