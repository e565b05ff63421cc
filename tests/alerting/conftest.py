"""Fixtures for alerting: a real HTTP receiver on 127.0.0.1 and a file-backed store."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sbwatch.results import Alert, Notification, Severity, Silence


class Receiver:
    """A tiny HTTP server accepting apprise ``json://`` posts; switchable to down, 500 or 400."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
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
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            if self.status == 200:
                self.posts.append(json.loads(body))
                self.paths.append(lines[0].split(" ")[1])
            head_out = f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
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


class FakeStore:
    """The store methods alerting uses, persisted to a pickle file on every write."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.alerts: dict[str, Alert] = {}
        self.outbox: dict[int, Notification] = {}
        self.silence_rows: dict[int, Silence] = {}

    async def open(self) -> None:
        """Load the file if present."""
        if self._path.exists():
            self.alerts, self.outbox, self.silence_rows = pickle.loads(self._path.read_bytes())

    async def close(self) -> None:
        """Nothing to release."""

    def _save(self) -> None:
        self._path.write_bytes(pickle.dumps((self.alerts, self.outbox, self.silence_rows)))

    async def save_alert(self, alert: Alert) -> None:
        """Insert or replace by key."""
        self.alerts[alert.key] = alert
        self._save()

    async def get_alert(self, key: str) -> Alert | None:
        """One alert by key."""
        return self.alerts.get(key)

    async def open_alerts(self, project: str | None = None) -> list[Alert]:
        """Alerts not closed."""
        return [
            a
            for a in self.alerts.values()
            if a.closed_at is None and (project is None or a.project == project)
        ]

    async def enqueue_notification(
        self, alert_key: str, route: str, severity: Severity, title: str, body: str, at: datetime
    ) -> Notification:
        """Record a notification."""
        n = Notification(len(self.outbox) + 1, alert_key, route, severity, title, body, at)
        self.outbox[n.id] = n
        self._save()
        return n

    async def due_notifications(self, now: datetime) -> list[Notification]:
        """Unsent, not failed, due."""
        return [
            n
            for n in self.outbox.values()
            if n.sent_at is None
            and n.failed is None
            and (n.next_attempt_at is None or n.next_attempt_at <= now)
        ]

    async def mark_sent(self, notification_id: int, at: datetime) -> None:
        """Sent."""
        n = self.outbox[notification_id]
        self.outbox[notification_id] = replace(n, sent_at=at, attempts=n.attempts + 1)
        self._save()

    async def mark_retry(self, notification_id: int, next_attempt_at: datetime, error: str) -> None:
        """Count the attempt and schedule the next."""
        n = self.outbox[notification_id]
        self.outbox[notification_id] = replace(
            n, attempts=n.attempts + 1, next_attempt_at=next_attempt_at
        )
        self._save()

    async def mark_failed(self, notification_id: int, reason: str, at: datetime) -> None:
        """Permanent failure."""
        n = self.outbox[notification_id]
        self.outbox[notification_id] = replace(n, failed=reason, attempts=n.attempts + 1)
        self._save()

    async def notifications(self, since: datetime) -> list[Notification]:
        """All created at or after since."""
        return [n for n in self.outbox.values() if n.created_at >= since]

    async def add_silence(
        self, project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str
    ) -> Silence:
        """Add a silence."""
        s = Silence(len(self.silence_rows) + 1, project, starts_at, ends_at, reason, created_by)
        self.silence_rows[s.id] = s
        self._save()
        return s

    async def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All or active silences."""
        rows = list(self.silence_rows.values())
        if active_at is None:
            return rows
        return [s for s in rows if s.starts_at <= active_at < s.ends_at]

    async def remove_silence(self, silence_id: int) -> bool:
        """Delete a silence."""
        found = self.silence_rows.pop(silence_id, None) is not None
        self._save()
        return found


USE_SQLITE = False
"""Switched on once the SQLite store is finished; the fake keeps the same file semantics."""

StoreFactory = Callable[[Path], Awaitable[Any]]


@pytest.fixture
async def make_store() -> AsyncIterator[StoreFactory]:
    """Open a store on a file: the SQLite store when present, else the file-backed fake."""
    opened: list[Any] = []

    async def factory(path: Path) -> Any:
        store: Any
        if USE_SQLITE and importlib.util.find_spec("sbwatch.store.sqlite") is not None:
            from sbwatch.store.sqlite import SqliteStore

            store = SqliteStore(path)
        else:
            store = FakeStore(path)
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()
