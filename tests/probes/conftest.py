"""Fixtures of the probe tests: settings, contexts, a throwaway database, small servers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from sbwatch.config.settings import DbProbeSettings, ProbeSettings, ProjectSettings, Settings
from sbwatch.core.clock import Clock, VirtualClock
from sbwatch.core.probe_specs import REGISTRY
from sbwatch.core.results import ProbeKind
from sbwatch.probes.base import ProbeContext

REF = "abcdefghijklmnopqrst"
SERVICE_KEY = "svc-key-7f3a9c1e5b2d4f6a8c0e"
MGMT_TOKEN = "sbp_10e4971de4326582103b917a7d441e5229d830d9"
DB_PASSWORD = "pw-9e8d7c6b5a"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRETS = (SERVICE_KEY, MGMT_TOKEN, DB_PASSWORD)


def make_settings(
    *,
    url: str = "https://abcdefghijklmnopqrst.supabase.co",
    dsn: str = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432/postgres",
    timeout_s: float = 2.0,
    fresh_every: int = 10,
    status_url: str = "https://status.example.test",
    components: list[str] | None = None,
    mgmt_url: str = "https://api.example.test",
) -> Settings:
    """Settings with one project whose probes all use ``timeout_s``."""
    timeout = timedelta(seconds=timeout_s)
    probes: dict[ProbeKind, ProbeSettings] = {
        kind: ProbeSettings(timeout=timeout, slow_after=REGISTRY[kind].slow_after)
        for kind in ProbeKind
        if kind != ProbeKind.METRICS
    }
    project = ProjectSettings(
        ref=REF,
        url=url,
        db_dsn=dsn,  # type: ignore[arg-type]  # pydantic turns the str into SecretStr
        service_key=SERVICE_KEY,  # type: ignore[arg-type]  # same
        mgmt_token=MGMT_TOKEN,  # type: ignore[arg-type]  # same
        probes=probes,
        db=DbProbeSettings(fresh_connection_every=fresh_every, connect_timeout=timeout),
    )
    status = {"url": status_url, "timeout": f"{timeout_s}s"}
    if components is not None:
        status["components"] = components  # type: ignore[assignment]  # a list is fine here
    return Settings(projects=[project], mgmt_api_url=mgmt_url, status_page=status)  # type: ignore[arg-type]  # validated dict


def make_ctx(
    settings: Settings, http: httpx.AsyncClient, clock: Clock | None = None
) -> ProbeContext:
    """A probe context for the first project."""
    return ProbeContext(settings, settings.projects[0], http, clock or VirtualClock())


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    """An httpx client answering from ``handler``."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


class CapturingLog:
    """A logger double that keeps (level, event, fields) tuples."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def debug(self, event: str, **fields: Any) -> None:
        """Record a debug event."""
        self.events.append(("debug", event, fields))

    def info(self, event: str, **fields: Any) -> None:
        """Record an info event."""
        self.events.append(("info", event, fields))

    def exception(self, event: str, **fields: Any) -> None:
        """Record an error event with a traceback."""
        self.events.append(("exception", event, fields))


@pytest.fixture
def capture_log() -> CapturingLog:
    """A fresh capturing logger."""
    return CapturingLog()


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A fresh database (already connected to once, so catalogs are cached); its name."""
    name = f"sbwatch_probe_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        warm = await asyncpg.connect(db_dsn(name))
        await warm.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def db_dsn(name: str, *, port: int = 5432, user: str = "postgres", host: str = "127.0.0.1") -> str:
    """A DSN for the local server (trust auth; a password is given to check it never leaks)."""
    return f"postgresql://{user}:{DB_PASSWORD}@{host}:{port}/{name}?sslmode=disable"


class FreezableProxy:
    """A TCP proxy to PostgreSQL that can stop forwarding (a server that hangs)."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self._upstream_port = upstream_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        self.flowing.set()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def pg_proxy() -> AsyncIterator[FreezableProxy]:
    """A running FreezableProxy to the local PostgreSQL."""
    proxy = FreezableProxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
