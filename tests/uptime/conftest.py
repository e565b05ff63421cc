"""Fixtures of the availability tests: a real SQLite store with six hours of probe results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.config.settings import Settings, load_settings
from sbwatch.core.results import (
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    Transition,
)
from sbwatch.store.sqlite import SqliteStore

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)


def settings(tmp_path: Path, extra: str = "") -> Settings:
    """One project probing db, rest and auth, with ``extra`` lines in its table."""
    return load_settings(
        text=f'[[projects]]\nref = "{REF}"\nname = "shop"\n{extra}\n'
        f'[state]\npath = "{tmp_path / "s.db"}"\n',
        watching=False,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A store where db ran every minute for the last 6 h, down 11:00-11:20, and rest ran for
    the last 2 h only, up throughout."""
    opened = SqliteStore(tmp_path / "s.db")
    await opened.open()
    start = NOW - timedelta(hours=6)
    for minute in range(6 * 60):
        at = start + timedelta(minutes=minute)
        down = NOW - timedelta(hours=1) <= at < NOW - timedelta(minutes=40)
        outcome = Outcome.FAIL if down else Outcome.OK
        await opened.record_probe(ProbeResult(REF, ProbeKind.DB, outcome, at, 0.1))
        if minute >= 4 * 60:
            await opened.record_probe(ProbeResult(REF, ProbeKind.REST, Outcome.OK, at, 0.1))
    for probe, previous, current, at in [
        (ProbeKind.DB, ProbeState.UNKNOWN, ProbeState.UP, start),
        (ProbeKind.DB, ProbeState.UP, ProbeState.DOWN, NOW - timedelta(hours=1)),
        (ProbeKind.DB, ProbeState.DOWN, ProbeState.UP, NOW - timedelta(minutes=40)),
        (ProbeKind.REST, ProbeState.UNKNOWN, ProbeState.UP, NOW - timedelta(hours=2)),
    ]:
        await opened.record_transition(Transition(REF, probe, previous, current, at))
    for probe in (ProbeKind.DB, ProbeKind.REST):
        await opened.save_probe_status(ProbeStatus(REF, probe, ProbeState.UP, 1, 0, start, None))
    try:
        yield opened
    finally:
        await opened.close()
