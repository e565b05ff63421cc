"""Fixtures every folder shares, and the integration marker from the servers a test uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sbwatch.store.sqlite import SqliteStore

SERVER_FIXTURES = frozenset(
    {"pg_dsn", "pg_database", "pg_proxy", "database", "dovecot", "tls_dovecot"}
)
"""Fixtures that start or reach a real server: a test using one is an integration test."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture ``integration``, wherever it lives; put the
    ``slow`` ones first, so that with several workers (``-n``, a file to a worker) the long
    files start at once instead of making the suite's tail."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An opened SQLite store in a temporary directory, closed after the test."""
    opened = SqliteStore(tmp_path / "state.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
