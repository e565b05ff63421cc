"""The SQL of the data checks, written to spare the watched server.

No check counts rows: ``not_empty`` asks ``EXISTS`` (the first visible row ends the scan) and
reads the table's statistics counters (``pg_stat_get_*``, no catalog scan); ``fresh`` asks
``max(column)``, one step down an index (and refuses to run without one: see
:func:`uses_index`); ``sum`` reads only the window's rows, through an index on the time column
when there is one. Every identifier is quoted, so configured names cannot become SQL.
"""

from __future__ import annotations

import json
from typing import Any

from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.core.results import DataCheckKind


def quote_ident(name: str) -> str:
    """An SQL identifier, always quoted (its case kept)."""
    return '"' + name.replace('"', '""') + '"'


def table_sql(check: DataCheckSettings) -> str:
    """The check's table as quoted SQL: ``"schema"."table"``."""
    return f"{quote_ident(check.schema_name)}.{quote_ident(check.table_name)}"


def begin_read_only(timeout_s: float) -> str:
    """One round trip: a read-only transaction whose statements stop after ``timeout_s``."""
    return f"BEGIN READ ONLY; SET LOCAL statement_timeout = {max(int(timeout_s * 1000), 1)}"


def not_empty_sql(check: DataCheckSettings) -> str:
    """Whether the table has a row, and its statistics counters (``$1``: the table's name)."""
    return (
        f"SELECT EXISTS (SELECT 1 FROM {table_sql(check)}) AS has_rows,"
        " pg_stat_get_live_tuples(t.oid)::float8 AS live,"
        " pg_stat_get_tuples_inserted(t.oid)::float8 AS inserted,"
        " pg_stat_get_tuples_deleted(t.oid)::float8 AS deleted"
        " FROM (SELECT $1::text::regclass::oid AS oid) AS t"
    )


def fresh_sql(check: DataCheckSettings) -> str:
    """The newest value of the column and its age in seconds on the server's clock."""
    column = quote_ident(check.column or "")
    return (
        "SELECT extract(epoch FROM now() - newest)::float8 AS age_s, newest"
        f" FROM (SELECT max({column}) AS newest FROM {table_sql(check)}) AS m"
    )


def sum_sql(check: DataCheckSettings) -> str:
    """The column summed over the rows whose time column is at or after ``$1``."""
    column, time_column = quote_ident(check.column or ""), quote_ident(check.time_column)
    return (
        f"SELECT coalesce(sum({column}), 0)::float8 FROM {table_sql(check)}"
        f" WHERE {time_column} >= $1::timestamptz"
    )


def explain_sql(statement: str) -> str:
    """The plan of a statement as JSON (planned, not run)."""
    return f"EXPLAIN (FORMAT JSON) {statement}"


def index_probe(check: DataCheckSettings) -> str:
    """The statement whose plan tells whether the check's column is indexed."""
    if check.column is not None and check.kind is DataCheckKind.FRESH:
        return f"SELECT max({quote_ident(check.column)}) FROM {table_sql(check)}"
    return f"SELECT 1 FROM {table_sql(check)} WHERE {quote_ident(check.time_column)} >= now()"


def plan_nodes(plan: Any) -> list[dict[str, Any]]:
    """Every node of an ``EXPLAIN (FORMAT JSON)`` answer (text or parsed), depth first."""
    doc = json.loads(plan) if isinstance(plan, str) else plan
    todo: list[Any] = [entry.get("Plan") for entry in doc if isinstance(entry, dict)]
    nodes: list[dict[str, Any]] = []
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            nodes.append(node)
            todo.extend(node.get("Plans", []))
    return nodes


def uses_index(plan: Any, table: str) -> bool:
    """Whether a plan (made with sequential scans disabled) reads ``table`` only by index.

    With ``enable_seqscan = off`` the planner takes any usable index; a sequential scan left in
    the plan means there is none for the column.
    """
    scans = [n for n in plan_nodes(plan) if n.get("Relation Name") == table]
    return bool(scans) and all(n.get("Node Type") != "Seq Scan" for n in scans)
