"""Fixtures for the remediation tests: a virtual clock, fresh metrics and a SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.store.sqlite import SqliteStore


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at the May 26 morning."""
    return VirtualClock(datetime(2026, 5, 26, 8, 0, tzinfo=UTC))


@pytest.fixture
def metrics() -> Metrics:
    """A fresh metrics registry."""
    return Metrics()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An open SQLite store in a temporary directory."""
    opened = SqliteStore(tmp_path / "s.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
