"""The replay's state store: the real SQLite store, its statements run inline on the loop.

The daemon's SqliteStore reaches SQLite through aiosqlite, one worker thread hop per
statement. A replay runs about 200 000 statements against an in-memory database on one
virtual clock, where those hops cost more than the statements; this store runs the very same
schema, migrations and SQL on the event loop's thread instead. Only the replay uses it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any

from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import (
    Alert,
    BudgetEstimate,
    Diagnosis,
    Intent,
    IoSample,
    ProbeKind,
    ProbeResult,
    ProbeStatus,
    Silence,
)
from sbwatch.store import codec
from sbwatch.store.base import slot_start
from sbwatch.store.sqlite import SqliteStore


class _Executed:
    """A statement already run: awaitable, or an async context manager, for its cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, sqlite3.Cursor]:
        yield from ()
        return self._cursor

    async def __aenter__(self) -> sqlite3.Cursor:
        return self._cursor

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of ``aiosqlite.Connection`` the SQLite store uses, over a plain sqlite3 one."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def row_factory(self) -> Any:
        """The row factory of the connection."""
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Executed:
        """Run one statement now."""
        return _Executed(self._conn.execute(sql, params))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per parameter row, now."""
        self._conn.executemany(sql, rows)

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and return all its rows."""
        return self._conn.execute(sql, params).fetchall()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class ReplayStore(SqliteStore):
    """An in-memory SqliteStore whose statements run inline (no worker thread)."""

    def __init__(self) -> None:
        super().__init__(":memory:")

    async def open(self) -> None:
        """Connect to a fresh in-memory database holding the store's migrations (copied from
        one migrated once per process: a scorecard opens a store for every case)."""
        if self._conn is not None:
            return
        fresh = sqlite3.connect(":memory:", isolation_level=None)
        (await _migrated()).backup(fresh)
        conn = InlineConnection(fresh)
        conn.row_factory = sqlite3.Row
        self._conn = conn  # type: ignore[assignment]  # the same surface, run inline


_TEMPLATE: list[sqlite3.Connection] = []
"""The migrated database every store of this process is copied from (only ever read)."""


async def _migrated() -> sqlite3.Connection:
    """An in-memory database with every migration applied, made on first use."""
    if not _TEMPLATE:
        migrated = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn = InlineConnection(migrated)
        await SqliteStore._migrate(conn)  # type: ignore[arg-type]  # the same surface, inline
        _TEMPLATE.append(migrated)
    return _TEMPLATE[0]


READS = {
    "maintenance_windows": "maintenance_windows",
    "acks": "alert_acks",
    "alert_escalations": "alert_escalations",
}
"""Reads whose statement is not named ``select <table>``, by the op name: the table read.
Any other op so named is taken for a write to an unknown table, which forgets every SELECT
kept (maintenance windows are read at every evaluation: that emptied the cache each time)."""


class FastReplayStore(ReplayStore):
    """A ReplayStore that keeps the busiest tables as values and reuses unchanged SELECTs.

    A replay writes a probe result and a probe status a minute per probe, a metrics scrape and
    a budget estimate every few minutes, a diagnosis every ten minutes, and small state
    documents at every evaluation; turning each into a row and back cannot change what the
    watcher decides. Results, statuses, scrapes, estimates and diagnoses stay here as the frozen
    values they are (a diagnosis read back without what its row does not hold); a state
    document is kept as a copy when it holds only JSON's own types, else as its JSON text (so
    it is copied, and refused when not serialisable, as the store would), and read back
    through JSON either way. The rest is the SQLite store, where a SELECT repeated before any
    write to its table returns the rows it returned last time, and the open alerts and the
    journal read again before any write to their table are the values read last time.
    """

    def __init__(self) -> None:
        super().__init__()
        self._results: list[ProbeResult] = []
        self._statuses: dict[tuple[str, str], ProbeStatus] = {}
        self._samples: list[tuple[str, IoSample]] = []
        self._budgets: list[BudgetEstimate] = []
        self._diagnoses: list[Diagnosis] = []
        self._state: dict[tuple[str, str], str | dict[str, Any]] = {}
        self._selected: dict[str, dict[tuple[str, tuple[Any, ...]], list[sqlite3.Row]]] = {}
        self._read: dict[str, dict[tuple[Any, ...], list[Any]]] = {}

    async def record_probe(self, result: ProbeResult) -> None:
        """Keep one probe result."""
        self._results.append(result)

    async def recent_probes(
        self, project: str, since: datetime, probe: ProbeKind | None = None
    ) -> list[ProbeResult]:
        """Probe results at or after ``since``, oldest first."""
        return [
            r
            for r in sorted(self._results, key=lambda r: r.at)
            if r.project == project and r.at >= since and (probe is None or r.probe is probe)
        ]

    async def probe_slots(
        self, project: str, since: datetime, probes: Sequence[ProbeKind]
    ) -> list[tuple[ProbeKind, datetime]]:
        """The ten-minute slots at or after the one holding ``since`` with a result of each
        of ``probes``, from the results kept."""
        start = slot_start(since)
        found = {
            (r.probe, slot_start(r.at))
            for r in self._results
            if r.project == project and r.at >= start and r.probe in probes
        }
        return sorted(found, key=lambda pair: (pair[1], pair[0].value))

    async def save_probe_status(self, status: ProbeStatus) -> None:
        """Keep the thresholded state of (project, probe)."""
        self._statuses[(status.project, status.probe.value)] = status

    async def probe_statuses(self, project: str | None = None) -> list[ProbeStatus]:
        """Current states, for one project or all, ordered by project then probe."""
        return [
            self._statuses[key]
            for key in sorted(self._statuses)
            if project is None or key[0] == project
        ]

    async def record_io_sample(self, project: str, sample: IoSample) -> None:
        """Keep one metrics scrape."""
        self._samples.append((project, sample))

    async def io_samples(self, project: str, since: datetime) -> list[IoSample]:
        """Scrapes at or after ``since``, oldest first."""
        kept = [s for p, s in self._samples if p == project and s.at >= since]
        return sorted(kept, key=lambda s: s.at)

    async def record_budget(self, estimate: BudgetEstimate) -> None:
        """Keep one budget estimate."""
        self._budgets.append(estimate)

    async def latest_budget(self, project: str) -> BudgetEstimate | None:
        """The newest budget estimate of a project (the last kept of the newest time)."""
        newest = None
        for estimate in self._budgets:
            if estimate.project == project and (newest is None or estimate.at >= newest.at):
                newest = estimate
        return newest

    async def budget_history(self, project: str, since: datetime) -> list[BudgetEstimate]:
        """Estimates at or after ``since``, oldest first."""
        kept = [b for b in self._budgets if b.project == project and b.at >= since]
        return sorted(kept, key=lambda b: b.at)

    async def record_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Keep one diagnosis."""
        self._diagnoses.append(diagnosis)

    async def latest_diagnosis(self, project: str) -> Diagnosis | None:
        """The newest diagnosis of a project (the last kept of the newest time)."""
        newest = None
        for diagnosis in self._diagnoses:
            if diagnosis.project == project and (newest is None or diagnosis.at >= newest.at):
                newest = diagnosis
        return None if newest is None else _as_stored(newest)

    async def diagnoses(self, project: str, since: datetime) -> list[Diagnosis]:
        """Diagnoses at or after ``since``, oldest first."""
        kept = [d for d in self._diagnoses if d.project == project and d.at >= since]
        return [_as_stored(d) for d in sorted(kept, key=lambda d: d.at)]

    async def open_alerts(self, project: str | None = None) -> list[Alert]:
        """Alerts not closed, oldest first (read again only after a write to alerts)."""
        return await self._reread("alerts", ("open", project), super().open_alerts, project)

    async def intents(
        self, project: str | None = None, since: datetime | None = None
    ) -> list[Intent]:
        """Journal entries, oldest first (read again only after a write to intents)."""
        key = ("all", project, since)
        return await self._reread("intents", key, super().intents, project, since)

    async def unfinished_intents(self, project: str | None = None) -> list[Intent]:
        """Intents still owed an outcome (read again only after a write to intents)."""
        key = ("unfinished", project)
        return await self._reread("intents", key, super().unfinished_intents, project)

    async def _reread(
        self,
        table: str,
        key: tuple[Any, ...],
        read: Callable[..., Awaitable[list[Any]]],
        *args: Any,
    ) -> list[Any]:
        """What ``read(*args)`` gave for ``key`` since the last write to ``table``."""
        kept = self._read.setdefault(table, {})
        values = kept.get(key)
        if values is None:
            values = kept[key] = await read(*args)
        return list(values)

    async def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        """A JSON document, or None."""
        kept = self._state.get((namespace, key))
        if kept is None:
            return None
        document: dict[str, Any] = codec.load_json(
            kept if isinstance(kept, str) else codec.dump_json(kept)
        )
        return document

    async def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        """Keep a JSON document: a copy when it holds nothing but JSON's own types (the
        budget estimator's, with its week of hourly figures, is written at every scrape and
        read back only when a project is taken on), else its text."""
        copied = _plain(value, 0)
        self._state[(namespace, key)] = codec.dump_json(value) if copied is None else copied

    async def delete_state(self, namespace: str, key: str) -> None:
        """Forget a document if kept."""
        self._state.pop((namespace, key), None)

    async def maintenance_windows(
        self, ending_after: datetime | None = None
    ) -> list[MaintenanceWindow]:
        """Every window, or those ending after a time: the filter on the unchanged full list
        (the time changes at every evaluation, the table almost never)."""
        every = await super().maintenance_windows()
        if ending_after is None:
            return every
        return [w for w in every if w.ends_at > ending_after]

    async def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, or those active at a time: the filter on the unchanged full list."""
        every = await super().silences()
        if active_at is None:
            return every
        return [s for s in every if s.starts_at <= active_at < s.ends_at]

    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[sqlite3.Row]:
        verb, _, table = op.partition(" ")
        if op in READS:
            verb, table = "select", READS[op]
        if verb != "select" or not table:
            self._forget(table)
            return await super()._fetch(op, sql, params, tx=tx)
        cached = self._selected.setdefault(table, {})
        key = (sql, tuple(params))
        rows = cached.get(key)
        if rows is None:
            rows = cached[key] = await super()._fetch(op, sql, params)
        return list(rows)

    async def _run(self, op: str, sql: str, params: Sequence[Any] = ()) -> int:
        self._forget(op.partition(" ")[2])
        return await super()._run(op, sql, params)

    def _forget(self, table: str) -> None:
        """Drop the SELECTs of a table written to (of every table, when it is not named)."""
        if table:
            self._selected.pop(table, None)
            self._read.pop(table, None)
        else:
            self._selected.clear()
            self._read.clear()


_PLAIN = (str, int, bool, type(None))
"""Values JSON writes and reads back as they are (a float too, when finite)."""
_DEEPEST = 32


def _plain(value: Any, depth: int) -> Any:
    """A copy of ``value`` that JSON would write and read back equal (dicts with text keys,
    lists, tuples as lists, text, integers, booleans, None and finite floats, each of
    exactly that type: no enum, no subclass); None for anything else, left to JSON itself
    (which writes it, or refuses it as the store does)."""
    kind = type(value)
    if kind is dict:
        if depth >= _DEEPEST:
            return None  # perhaps a cycle: JSON says so
        copy = {}
        for key, item in value.items():
            if type(key) is not str:
                return None
            if type(item) in _PLAIN:
                copy[key] = item
                continue
            plain = _plain(item, depth + 1)
            if plain is None:
                return None
            copy[key] = plain
        return copy
    if kind is list or kind is tuple:
        if set(map(type, value)) <= {float}:  # a series of figures, checked at C speed
            return list(value) if math.isfinite(sum(value)) else None
        if depth >= _DEEPEST:
            return None
        items = []
        for item in value:
            if type(item) in _PLAIN:
                items.append(item)
                continue
            plain = _plain(item, depth + 1)
            if plain is None:
                return None
            items.append(plain)
        return items
    if kind is float:
        return value if math.isfinite(value) else None
    return value if kind in _PLAIN else None


def _as_stored(diagnosis: Diagnosis) -> Diagnosis:
    """A diagnosis as its row reads back: without the failing services and their onsets."""
    return replace(diagnosis, services=(), onsets=())
