"""Fixtures for the budget tests: a sample feeder for the estimator, and a metrics HTTP server."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.core.results import BudgetEstimate, IoSample
from sbwatch.policy.budget import MB, BudgetEstimator

T0 = datetime(2026, 5, 20, tzinfo=UTC)
OP_BYTES = 128 * 1024


@dataclass
class Feed:
    """Feeds an estimator cumulative counters built from rates, one sample per ``step_s``."""

    estimator: BudgetEstimator
    t: datetime = T0
    bytes_total: float = 0.0
    ops_total: float = 0.0
    history: list[BudgetEstimate] = field(default_factory=list)
    iowait: float | None = None
    """The share of CPU time waiting on IO to export (None: the counters are not exported)."""
    cpu_total: float = 0.0
    iowait_total: float = 0.0

    def sample(self) -> BudgetEstimate:
        """Send the current counters at the current time."""
        cpu = (self.iowait_total, self.cpu_total) if self.iowait is not None else (None, None)
        est = self.estimator.update(
            IoSample(
                self.t,
                self.bytes_total,
                0.0,
                self.ops_total,
                0.0,
                iowait_seconds_total=cpu[0],
                cpu_seconds_total=cpu[1],
            )
        )
        self.history.append(est)
        return est

    def run(
        self, mbps: float, seconds: float, *, step_s: float = 60.0, iops: float | None = None
    ) -> BudgetEstimate:
        """Run at a constant rate for ``seconds``, sampling every ``step_s``."""
        if not self.history:
            self.sample()
        steps = round(seconds / step_s)
        for _ in range(steps):
            self.advance(mbps, step_s, iops=iops)
            self.sample()
        return self.history[-1]

    def advance(self, mbps: float, seconds: float, *, iops: float | None = None) -> None:
        """Move time and counters without sampling (a scrape gap)."""
        self.t += timedelta(seconds=seconds)
        self.cpu_total += 2 * seconds  # two CPUs
        self.iowait_total += 2 * seconds * (self.iowait or 0.0)
        self.bytes_total += mbps * MB * seconds
        self.ops_total += (mbps * MB / OP_BYTES if iops is None else iops) * seconds


FeedFactory = Callable[[BudgetEstimator], Feed]


@pytest.fixture
def feed() -> FeedFactory:
    """Make a feeder for an estimator."""
    return Feed


class MetricsServer:
    """A tiny HTTP server on 127.0.0.1 answering the metrics path with basic auth."""

    def __init__(self, payload: str, password: str) -> None:
        self.payload = payload
        self.expected = "Basic " + base64.b64encode(f"service_role:{password}".encode()).decode()
        self.paths: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind a free port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.paths.append(lines[0].split(" ")[1])
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization")
        status, body = (
            ("200 OK", self.payload) if auth == self.expected else ("401 Unauthorized", "")
        )
        data = body.encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()


MetricsServerFactory = Callable[[str, str], MetricsServer]


@pytest.fixture
async def metrics_server() -> AsyncIterator[MetricsServerFactory]:
    """Start metrics servers on demand; all are stopped after the test."""
    servers: list[MetricsServer] = []

    def make(payload: str, password: str) -> MetricsServer:
        server = MetricsServer(payload, password)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()
