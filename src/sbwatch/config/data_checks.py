"""``[[projects.data_checks]]``: what the data probe asserts about a project's tables.

Each check names a table (``schema.table``, or ``table`` in ``public``) and a kind:
- ``not_empty``: the table has rows, and was not emptied between two runs;
- ``fresh``: the newest value of ``column`` (a timestamp) is younger than ``max_age``;
- ``sum``: ``column`` summed over ``window`` ("today", or a duration such as "24h") of
  ``time_column``, judged against ``warn_above``/``critical_above`` (and ``_below``);
- ``query``: ``sql``, one read-only query returning one number, judged the same way (what acts
  beyond a read, such as COPY or ``pg_terminate_backend``, is refused: ``query_guard``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from sbwatch.config.query_guard import query_problems
from sbwatch.config.types import PositiveDuration, StrictModel, TimeZoneName, positive, to_timedelta
from sbwatch.core.problems import Problem
from sbwatch.core.results import DataCheckKind

_IDENT = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
Identifier = Annotated[str, Field(pattern=rf"^{_IDENT}$")]
"""A plain column name (quoted when used, so its case is kept)."""
TableName = Annotated[str, Field(pattern=rf"^{_IDENT}(\.{_IDENT})?$")]
"""``schema.table`` or ``table`` (in ``public``)."""
CheckName = Annotated[str, Field(pattern=r"^[a-z0-9_][a-z0-9_-]{0,62}$")]
"""A label value of the data check metrics: lowercase letters, digits, ``_`` and ``-``."""

THRESHOLDS = ("warn_above", "critical_above", "warn_below", "critical_below")
_USED: dict[DataCheckKind, frozenset[str]] = {
    DataCheckKind.NOT_EMPTY: frozenset({"table", "severity", "hold"}),
    DataCheckKind.FRESH: frozenset({"table", "column", "max_age", "severity"}),
    DataCheckKind.SUM: frozenset({"table", "column", "time_column", "window", "timezone"}),
    DataCheckKind.QUERY: frozenset({"table", "sql"}),
}
"""The keys each kind reads (besides name, kind, timeout and, for sum/query, the thresholds)."""
_REQUIRED: dict[DataCheckKind, tuple[str, ...]] = {
    DataCheckKind.NOT_EMPTY: ("table",),
    DataCheckKind.FRESH: ("table", "column", "max_age"),
    DataCheckKind.SUM: ("table", "column"),
    DataCheckKind.QUERY: ("sql",),
}


def _window(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "today":
        return "today"
    return to_timedelta(value)


def _positive_window(value: Literal["today"] | timedelta) -> Literal["today"] | timedelta:
    return value if isinstance(value, str) else positive(value)


Window = Annotated[
    Literal["today"] | timedelta, BeforeValidator(_window), AfterValidator(_positive_window)
]
"""``today`` (since midnight in ``timezone``) or a duration back from now."""


class DataCheckSettings(StrictModel):
    """One data check of one project."""

    name: CheckName
    kind: DataCheckKind
    table: TableName | None = None
    """Required except for ``query``, where it only names what the number is about."""
    column: Identifier | None = None
    max_age: PositiveDuration | None = None
    time_column: Identifier = "created_at"
    window: Window = "today"
    timezone: TimeZoneName = None
    """Of ``today``; default UTC."""
    sql: str | None = Field(default=None, min_length=1)
    warn_above: float | None = None
    critical_above: float | None = None
    warn_below: float | None = None
    critical_below: float | None = None
    severity: Literal["warning", "critical"] = "warning"
    """How urgent an emptied table or a stale column is."""
    hold: PositiveDuration = timedelta(minutes=15)
    """not_empty: how long a table found emptied between two runs keeps the check failing, so
    a pipeline that empties it once a day (or between a failure and its confirming re-run)
    still alerts."""
    timeout: PositiveDuration = timedelta(seconds=5)
    """The statement timeout of the check's queries."""

    def problems(self) -> list[Problem]:
        """What does not fit the check's kind, located at the check's keys (the caller locates
        them further: ``Settings`` checks every project's checks with their positions)."""
        problems = [
            Problem(key, f"required by kind {self.kind}")
            for key in _REQUIRED[self.kind]
            if getattr(self, key) is None
        ]
        judged = self.kind in (DataCheckKind.SUM, DataCheckKind.QUERY)
        allowed = _USED[self.kind] | (set(THRESHOLDS) if judged else set())
        problems += [
            Problem(key, f"not used by kind {self.kind}")
            for key in sorted(self.model_fields_set - allowed - {"name", "kind", "timeout"})
        ]
        if self.kind is DataCheckKind.QUERY and self.sql is not None:
            problems += [Problem("sql", problem) for problem in query_problems(self.sql)]
        if _inverted(self.warn_above, self.critical_above):
            problems.append(Problem("warn_above", "must not be above critical_above"))
        if _inverted(self.critical_below, self.warn_below):
            problems.append(Problem("warn_below", "must not be below critical_below"))
        return problems

    @property
    def schema_name(self) -> str:
        """The table's schema (``public`` when the table is written without one)."""
        return self.table.partition(".")[0] if self.table and "." in self.table else "public"

    @property
    def table_name(self) -> str:
        """The table's name without its schema."""
        return (self.table or "").rpartition(".")[2]

    @property
    def qualified(self) -> str:
        """``schema.table`` as people read it (``-`` for a query check without a table)."""
        return f"{self.schema_name}.{self.table_name}" if self.table else "-"


def _inverted(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and low > high
