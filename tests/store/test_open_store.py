"""open_store picks and opens the configured backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sbwatch.config.settings import StateSettings
from sbwatch.store import open_store
from sbwatch.store.migrations import latest_version
from sbwatch.store.postgres import PostgresStore
from sbwatch.store.sqlite import SqliteStore


async def test_sqlite_in_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the SQLite file lives in $STATE_DIRECTORY."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd-state"))
    store = await open_store(StateSettings())
    await store.close()
    assert (True, True) == (
        isinstance(store, SqliteStore),
        (tmp_path / "systemd-state" / "sbwatch.db").is_file(),
    )


async def test_sqlite_in_xdg_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $STATE_DIRECTORY the file goes under $XDG_STATE_HOME/sbwatch."""
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    store = await open_store(StateSettings())
    try:
        assert latest_version() == await store.schema_version()
    finally:
        await store.close()
    assert (tmp_path / "xdg" / "sbwatch" / "sbwatch.db").is_file()


async def test_sqlite_at_configured_path(tmp_path: Path) -> None:
    """An explicit path wins."""
    store = await open_store(StateSettings(path=tmp_path / "x" / "state.db"))
    await store.close()
    assert (tmp_path / "x" / "state.db").is_file()


async def test_postgres_with_dsn(pg_dsn: str) -> None:
    """backend = postgres opens a migrated PostgresStore in the default schema."""
    state = StateSettings(backend="postgres", dsn=SecretStr(pg_dsn))
    store = await open_store(state)
    try:
        assert (True, latest_version()) == (
            isinstance(store, PostgresStore),
            await store.schema_version(),
        )
    finally:
        await store.close()
