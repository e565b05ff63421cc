"""Fixtures for alerting: a real HTTP receiver on 127.0.0.1 and SQLite stores on files."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sbwatch.store.sqlite import SqliteStore


class Receiver:
    """A tiny HTTP server accepting apprise ``json://`` posts; switchable to down, 500 or 400."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        """The headers of each post received (lowercased names), as ``posts``."""
        self.status = 200
        self.fail_paths: set[str] = set()
        """Paths answered 400 whatever ``status`` says."""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def up(self, status: int = 200) -> None:
        """Listen (on the same port as before, if any) and answer with ``status``."""
        self.status = status
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening: connections are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def url(self, path: str = "hook") -> str:
        """The apprise URL posting JSON here."""
        return f"json://127.0.0.1:{self.port}/{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length)
            path = lines[0].split(" ")[1]
            status = 400 if path in self.fail_paths else self.status
            if status == 200:
                if body:  # a GET (the heartbeat) has none
                    self.posts.append(json.loads(body))
                    self.headers.append(headers)
                self.paths.append(path)
            head_out = f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(head_out.encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running receiver, stopped after the test."""
    rec = Receiver()
    await rec.up()
    yield rec
    await rec.down()


StoreFactory = Callable[[Path], Awaitable[Any]]


@pytest.fixture
async def make_store() -> AsyncIterator[StoreFactory]:
    """Open a SQLite store on a file; every store opened is closed after the test."""
    opened: list[SqliteStore] = []

    async def factory(path: Path) -> SqliteStore:
        store = SqliteStore(path)
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: StoreFactory, tmp_path: Path) -> SqliteStore:
    """An open SQLite store in the test's directory (closed after the test)."""
    opened: SqliteStore = await make_store(tmp_path / "s.db")
    return opened
