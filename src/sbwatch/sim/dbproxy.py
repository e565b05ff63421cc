"""A TCP proxy in front of PostgreSQL that the simulator can stall or cut."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sbwatch.core.log import get_logger

MODES = ("pass", "stall", "cut")
_CHUNK = 65_536

log = get_logger("sim.dbproxy")


class DbProxy:
    """Forwards a loopback port to the server; ``stall`` never forwards, ``cut`` closes at once.

    ``delay`` (seconds, set from the disks' queue) holds each query back before it reaches the
    server, so a throttled database answers slowly before it stops answering.
    """

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432) -> None:
        self._target = (target_host, target_port)
        self._mode = "pass"
        self._delay_s = 0.0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def mode(self) -> str:
        """The current mode."""
        return self._mode

    @property
    def delay_s(self) -> float:
        """How long each query waits before it is forwarded, seconds."""
        return self._delay_s

    def set_delay(self, seconds: float) -> None:
        """Hold every query back this long from now on (0: forward at once)."""
        self._delay_s = max(0.0, seconds)

    async def start(self) -> int:
        """Listen on a free loopback port and return it."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def set_mode(self, mode: str) -> None:
        """Switch to pass, stall or cut; ``cut`` and ``stall`` drop open connections."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}")
        if mode != self._mode:
            log.info("db proxy mode", mode=mode)
        self._mode = mode
        if mode != "pass":
            for writer in list(self._writers):
                writer.close()

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection handler always runs in a task
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._mode == "cut":
            return
        if self._mode == "stall":
            await reader.read()  # hold the connection, forward nothing, until the client gives up
            return
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers.add(up_writer)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(_pipe(reader, up_writer, lambda: self._delay_s))
                group.create_task(_pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await up_writer.wait_closed()


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay_s: Callable[[], float] | None = None,
) -> None:
    """Copy until EOF (each chunk held back ``delay_s()`` first), then close the other side."""
    try:
        while chunk := await reader.read(_CHUNK):
            wait = delay_s() if delay_s is not None else 0.0
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
