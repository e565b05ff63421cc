"""Running one data check on a connection, and judging what it read.

:func:`read` asks the server (in a read-only transaction with a statement timeout) and raises
what asyncpg raises; :func:`judge` turns a reading into a verdict, a pure function of the
reading, the check's settings, what earlier runs saw (:class:`Memory`) and ``now``.

``not_empty`` catches an emptied table two ways: a run that reads it empty, and (between runs)
counters saying every row it had was deleted or vanished, which is what a delete-then-reinsert
pipeline leaves behind even when no run happens to fall into its empty moment. Such a finding
keeps the check failing for its ``hold`` (15 minutes), long enough to alert. An UPSERT
pipeline updates rows in place and deletes none, so it never trips.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.core.durations import format_duration
from sbwatch.core.results import DataCheckKind, DataCheckResult, Verdict
from sbwatch.data import sql

T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    """What ``not_empty`` reads: a row exists, and the table's statistics counters."""

    has_rows: bool
    live: float
    inserted: float
    deleted: float


@dataclass(frozen=True)
class Reading:
    """One check's answer from the server: a number, or the counts of ``not_empty``."""

    value: float | None
    counts: Counts | None = None
    unindexed: bool = False
    """fresh: the column has no index, so the check was not run (it would scan the table)."""


@dataclass
class Memory:
    """What the runs of one check remember between them (per probe, in memory)."""

    counts: Counts | None = None
    had_rows: bool = False
    empty_since: datetime | None = None
    indexed_on: int | None = None
    """fresh: the connection (its number) on which the column was found indexed."""
    emptied: tuple[datetime, str] | None = None
    """not_empty: when counters last showed the table emptied between runs, and how."""


class NotANumber(Exception):
    """A query check's statement did not return exactly one number."""


async def read(conn: Any, check: DataCheckSettings, now: datetime, *, index_known: bool) -> Reading:
    """Run one check on ``conn`` in a read-only transaction; asyncpg errors propagate."""
    await conn.execute(sql.begin_read_only(check.timeout.total_seconds()))
    return await _rolled_back(conn, lambda: _read(conn, check, now, index_known))


async def column_indexed(conn: Any, check: DataCheckSettings) -> bool:
    """Whether the check's column (fresh) or time column (sum) has a usable index (EXPLAIN)."""
    await conn.execute(sql.begin_read_only(check.timeout.total_seconds()))
    return await _rolled_back(conn, lambda: _indexed(conn, check))


async def _indexed(conn: Any, check: DataCheckSettings) -> bool:
    await conn.execute("SET LOCAL enable_seqscan = off")
    plan = await conn.fetchval(sql.explain_sql(sql.index_probe(check)))
    return sql.uses_index(plan, check.table_name)


async def _read(conn: Any, check: DataCheckSettings, now: datetime, index_known: bool) -> Reading:
    if check.kind is DataCheckKind.NOT_EMPTY:
        row = await conn.fetchrow(sql.not_empty_sql(check), sql.table_sql(check))
        counts = Counts(bool(row["has_rows"]), row["live"], row["inserted"], row["deleted"])
        return Reading(max(counts.live, 1.0) if counts.has_rows else 0.0, counts)
    if check.kind is DataCheckKind.FRESH:
        if not index_known and not await _indexed(conn, check):
            return Reading(None, unindexed=True)
        row = await conn.fetchrow(sql.fresh_sql(check))
        return Reading(row["age_s"])
    if check.kind is DataCheckKind.SUM:
        return Reading(await conn.fetchval(sql.sum_sql(check), window_start(check, now)))
    return Reading(_one_number(await _bounded_rows(conn, check.sql or "")))


NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "oid"})
"""The column types of a number; anything else is refused before a row is read."""
ROWS_READ = 2
"""A query check answers one row: two are enough to know it answered more."""


async def _bounded_rows(conn: Any, statement: str) -> list[Any]:
    """At most ``ROWS_READ`` rows of one numeric column: a statement answering millions of
    rows, or text of any size, is refused before its rows are read (its shape is known once
    it is prepared, and the cursor fetches two rows only)."""
    prepared = await conn.prepare(statement)
    columns = prepared.get_attributes()
    if len(columns) != 1:
        raise NotANumber(f"returned {len(columns)} columns, not one number")
    kind = columns[0].type.name
    if kind not in NUMERIC_TYPES:
        raise NotANumber(f"returned {_TYPE_WORDS.get(kind, kind)}, not a number")
    cursor = await prepared.cursor()
    rows: list[Any] = await cursor.fetch(ROWS_READ)
    if len(rows) > 1:
        raise NotANumber("returned more than one row, not one number")
    return rows


_TYPE_WORDS = {"text": "str", "unknown": "str", "varchar": "str", "bool": "bool"}


async def _rolled_back(conn: Any, body: Callable[[], Awaitable[T]]) -> T:
    """``body()`` then ROLLBACK (a read has nothing to commit); a cancelled body is left to the
    caller, which drops the connection (it may still be busy)."""
    try:
        result = await body()
    except asyncio.CancelledError:
        raise
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("ROLLBACK")
    return result


def _one_number(rows: list[Any]) -> float:
    if len(rows) != 1 or len(rows[0]) != 1:
        shape = f"{len(rows)} row(s)" + (f" of {len(rows[0])} columns" if rows else "")
        raise NotANumber(f"returned {shape}, not one number")
    value = rows[0][0]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise NotANumber(f"returned {type(value).__name__ if value is not None else 'NULL'}")
    return float(value)


def window_start(check: DataCheckSettings, now: datetime) -> datetime:
    """Where a sum's window begins: local midnight for ``today``, else ``now - window``."""
    if isinstance(check.window, timedelta):
        return now - check.window
    local = now.astimezone(ZoneInfo(check.timezone or "UTC"))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# -- verdicts -----------------------------------------------------------------------------
def judge(
    check: DataCheckSettings, reading: Reading, memory: Memory, now: datetime
) -> DataCheckResult:
    """The verdict on one reading; updates ``memory`` for the next run."""
    if check.kind is DataCheckKind.NOT_EMPTY and reading.counts is not None:
        return _not_empty(check, reading.counts, memory, now)
    if reading.unindexed:
        detail = (
            f"no index on {check.column}: not run, it would read the whole table"
            f" (CREATE INDEX ON {check.qualified} ({check.column}))"
        )
        return _result(check, Verdict.ERROR, None, detail)
    if check.kind is DataCheckKind.FRESH:
        return _fresh(check, reading.value)
    return _thresholds(check, reading.value)


def failed(check: DataCheckSettings, detail: str) -> DataCheckResult:
    """A check that could not be judged (missing table, timeout, not a number)."""
    return _result(check, Verdict.ERROR, None, detail)


def error_detail(exc: Exception) -> str:
    """What went wrong with a check's query, in words a person can act on."""
    if isinstance(exc, NotANumber):
        return str(exc)
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "statement timeout: the query took too long"
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return "the query tried to write (data checks run read-only)"
    if isinstance(exc, asyncpg.PostgresError):
        return f"server error {exc.sqlstate}: {exc.args[0] if exc.args else type(exc).__name__}"
    return f"{type(exc).__name__}"


def _not_empty(
    check: DataCheckSettings, counts: Counts, memory: Memory, now: datetime
) -> DataCheckResult:
    previous, memory.counts = memory.counts, counts
    value = max(counts.live, 1.0) if counts.has_rows else 0.0
    if not counts.has_rows:
        memory.empty_since = memory.empty_since or now
        had = memory.had_rows or counts.inserted > 0
        lasted = format_duration((now - memory.empty_since).total_seconds())
        detail = f"empty since {memory.empty_since:%Y-%m-%d %H:%M:%S} UTC ({lasted})"
        if had:
            detail = f"emptied: it had rows; {detail}"
        return _result(check, _severity(check), 0.0, detail, memory.empty_since)
    was_empty, memory.empty_since = memory.empty_since, None
    memory.had_rows = True
    emptied = emptied_between(previous, counts)
    if emptied is not None:
        memory.emptied = (now, emptied)
    if memory.emptied is not None and now - memory.emptied[0] < check.hold:
        at, how = memory.emptied
        held = f" (seen at {at:%Y-%m-%d %H:%M:%S} UTC)" if at != now else ""
        return _result(check, _severity(check), value, how + held)
    memory.emptied = None
    if was_empty is not None:
        lasted = format_duration((now - was_empty).total_seconds())
        return _result(check, Verdict.OK, value, f"rows again after reading empty for {lasted}")
    return _result(check, Verdict.OK, value, f"has rows (about {value:.0f})")


def emptied_between(before: Counts | None, after: Counts) -> str | None:
    """Why the counters say every row the table had left it between two runs, or None.

    Deleted rows at least as many as it had (a DELETE then re-INSERT), or rows gone without
    a delete (a TRUNCATE). An UPSERT updates in place: neither counter moves.
    """
    if before is None or before.live <= 0:
        return None
    deleted = after.deleted - before.deleted
    inserted = after.inserted - before.inserted
    if deleted < 0 or inserted < 0:
        return None  # the statistics were reset in between
    had = f"{before.live:.0f}"
    if deleted >= before.live:
        return (
            f"emptied between runs: {deleted:.0f} rows deleted (it had {had}), {inserted:.0f}"
            " inserted: a delete-then-reinsert; readers in between saw an empty table"
        )
    vanished = before.live + inserted - deleted - after.live
    if vanished >= before.live:
        return f"emptied between runs: all {had} rows it had went without a DELETE (TRUNCATE?)"
    return None


def _fresh(check: DataCheckSettings, age_s: float | None) -> DataCheckResult:
    limit = check.max_age.total_seconds() if check.max_age is not None else 0.0
    if age_s is None:
        return _result(check, _severity(check), None, f"no rows: {check.column} has no value")
    age = format_duration(max(age_s, 0.0))
    if age_s > limit:
        detail = f"newest {check.column} is {age} old (max_age {format_duration(limit)})"
        return _result(check, _severity(check), age_s, detail)
    return _result(check, Verdict.OK, age_s, f"newest {check.column} is {age} old")


def _thresholds(check: DataCheckSettings, value: float | None) -> DataCheckResult:
    if value is None:
        return failed(check, "no number")
    for verdict, bound, above in (
        (Verdict.CRITICAL, check.critical_above, True),
        (Verdict.CRITICAL, check.critical_below, False),
        (Verdict.WARNING, check.warn_above, True),
        (Verdict.WARNING, check.warn_below, False),
    ):
        if bound is not None and (value > bound if above else value < bound):
            word = "above" if above else "below"
            name = f"{'critical' if verdict is Verdict.CRITICAL else 'warn'}_{word}"
            return _result(check, verdict, value, f"{_number(value)} is {word} {name} {bound:g}")
    return _result(check, Verdict.OK, value, _number(value))


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _severity(check: DataCheckSettings) -> Verdict:
    return Verdict.CRITICAL if check.severity == "critical" else Verdict.WARNING


def _result(
    check: DataCheckSettings,
    verdict: Verdict,
    value: float | None,
    detail: str,
    empty_since: datetime | None = None,
) -> DataCheckResult:
    return DataCheckResult(
        name=check.name,
        kind=check.kind,
        table=check.qualified,
        verdict=verdict,
        value=value,
        detail=detail,
        empty_since=empty_since,
    )
