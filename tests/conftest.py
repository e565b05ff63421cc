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


SHARED_RUNS = frozenset({"escalation_live", "replay"})
"""Folders whose tests share runs started once per session: one worker takes them all."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture ``integration``, wherever it lives; group
    the tests for the parallel run (``-n 2 --dist loadgroup``): a file stays on one worker
    (its module fixtures run once), a folder of :data:`SHARED_RUNS` too."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        folder = item.path.parent.name
        group = folder if folder in SHARED_RUNS else str(item.path)
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An opened SQLite store in a temporary directory, closed after the test."""
    opened = SqliteStore(tmp_path / "state.db")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
