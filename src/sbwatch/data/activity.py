"""Table activity between two samples: the tables no writer touched since a given time.

A sample is ``pg_stat_user_tables``' write counters (inserted + updated + deleted rows) and read
counters (sequential + index scans) of every user table, the provider's schemas left out.
``sbwatch db report`` keeps one per run in the store's state table; a table whose write counter
did not move between a sample at or before SINCE and now had no insert, update or delete in
between. A table with no write since the statistics began is one too, from the first run.
Nothing here changes the database: the report is for people to decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sbwatch.store.docs import Slot, field, reading, slot
from sbwatch.supabase.schemas import PROVIDER_SCHEMAS

NAMESPACE = "data"
KEEP = 50
"""Samples kept per project: the oldest (the longest baseline) and the newest others."""

SAMPLE_SQL = """
SELECT s.schemaname || '.' || s.relname AS name,
       (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::float8 AS writes,
       (s.seq_scan + coalesce(s.idx_scan, 0))::float8 AS reads,
       s.n_live_tup::float8 AS rows,
       pg_total_relation_size(s.relid)::float8 AS bytes
FROM pg_stat_user_tables s
WHERE s.schemaname <> ALL($1::text[])
ORDER BY 1
"""
RESET_SQL = "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"


def state_key(ref: str) -> str:
    """Store key of a project's kept samples (namespace :data:`NAMESPACE`)."""
    return f"activity:{ref}"


@dataclass(frozen=True)
class TableNow:
    """One table as sampled now: its counters and its size."""

    name: str
    writes: float
    reads: float
    rows: float
    bytes: float


@dataclass(frozen=True)
class Sample:
    """The counters of every user table at one time (what the store keeps of a sample)."""

    at: datetime
    stats_reset: datetime | None
    counters: dict[str, tuple[float, float]]
    """Table -> (writes, reads)."""

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "at": self.at.isoformat(),
            "stats_reset": self.stats_reset.isoformat() if self.stats_reset else None,
            "tables": {name: list(pair) for name, pair in self.counters.items()},
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Sample:
        """The inverse of :meth:`to_doc`."""
        reset = doc.get("stats_reset")
        tables = {name: (float(pair[0]), float(pair[1])) for name, pair in doc["tables"].items()}
        return cls(
            datetime.fromisoformat(doc["at"]),
            datetime.fromisoformat(reset) if reset else None,
            tables,
        )


@dataclass(frozen=True)
class Samples:
    """A project's kept samples, oldest first (``{"samples": [...]}``)."""

    samples: tuple[Sample, ...]

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {"samples": [s.to_doc() for s in self.samples]}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Samples:
        """The inverse of :meth:`to_doc` (no ``samples``: none kept); ValueError naming the
        field when malformed."""

        def build() -> Samples:
            kept = field(doc, "samples", list) if "samples" in doc else []
            if not all(isinstance(d, dict) for d in kept):
                raise TypeError("'samples' holds a sample that is not an object")
            return cls(tuple(Sample.from_doc(d) for d in kept))

        return reading("db activity samples", build)


def samples_slot(ref: str) -> Slot[Samples]:
    """Where a project's samples are kept."""
    return slot(NAMESPACE, state_key(ref), Samples)


@dataclass(frozen=True)
class Untouched:
    """A table no writer touched since ``since``."""

    name: str
    bytes: float
    rows: float
    reads: float | None
    """Scans since then (None when the baseline is the start of the statistics)."""


@dataclass(frozen=True)
class Report:
    """The untouched tables of one project, and what the claim rests on."""

    since: datetime | None
    """The baseline's time (the statistics' start when the baseline is that); None: unknown."""
    baseline: str
    """``sample`` (a kept sample), ``statistics`` (no write since the counters began)."""
    untouched: list[Untouched]
    tables: int


async def take_sample(conn: Any, at: datetime) -> tuple[Sample, list[TableNow]]:
    """Every user table's counters and size, in one read-only transaction."""
    async with conn.transaction(readonly=True):
        rows = await conn.fetch(SAMPLE_SQL, sorted(PROVIDER_SCHEMAS))
        reset = await conn.fetchval(RESET_SQL)
    tables = [TableNow(r["name"], r["writes"], r["reads"], r["rows"], r["bytes"]) for r in rows]
    counters = {t.name: (t.writes, t.reads) for t in tables}
    return Sample(at, reset, counters), tables


def kept(samples: Sequence[Sample], new: Sample, limit: int = KEEP) -> list[Sample]:
    """The samples to keep after ``new``: the oldest and the newest ``limit - 1``."""
    ordered = sorted([*samples, new], key=lambda s: s.at)
    if len(ordered) <= limit:
        return ordered
    return [ordered[0], *ordered[-(limit - 1) :]]


def baseline(samples: Sequence[Sample], since: datetime | None) -> Sample | None:
    """The newest sample at or before ``since`` (the oldest one when ``since`` is None)."""
    ordered = sorted(samples, key=lambda s: s.at)
    if since is None:
        return ordered[0] if ordered else None
    before = [s for s in ordered if s.at <= since]
    return before[-1] if before else None


def report(base: Sample | None, now: Sample, tables: Sequence[TableNow]) -> Report:
    """The tables without a write between ``base`` and ``now``, biggest first.

    Without a usable baseline (none, or the statistics were reset since), the claim falls back
    to the counters themselves: a table with no write at all since the statistics began.
    """
    usable = base if base is not None and base.stats_reset == now.stats_reset else None
    found = []
    for table in tables:
        if usable is not None:
            before = usable.counters.get(table.name)  # a table made since: no claim
            if before is not None and table.writes == before[0]:
                reads = table.reads - before[1]
                found.append(Untouched(table.name, table.bytes, table.rows, reads))
        elif table.writes == 0:
            found.append(Untouched(table.name, table.bytes, table.rows, None))
    found.sort(key=lambda t: (-t.bytes, t.name))
    if usable is not None:
        return Report(usable.at, "sample", found, len(tables))
    return Report(now.stats_reset, "statistics", found, len(tables))
