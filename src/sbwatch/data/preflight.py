"""What ``check-config --online`` asks the database about a project's data checks.

Tables and columns exist; ``fresh`` has an index on its column (asked with EXPLAIN, sequential
scans disabled: a plan still scanning the table means there is none), ``sum`` has one on its
time column (a warning: without it each run reads the whole table); a ``query`` plans, in a
read-only transaction, and returns one column. Nothing is run but plans and catalog reads.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.problems import Problem, under
from sbwatch.core.results import DataCheckKind
from sbwatch.data import checks, sql
from sbwatch.data.connect import InvalidDsn, Unreachable, connect

APPLICATION_NAME = "sbwatch-check-config"
_COLUMN = (
    "SELECT 1 FROM pg_attribute"
    " WHERE attrelid = $1::text::regclass AND attname = $2 AND attnum > 0 AND NOT attisdropped"
)


async def preflight(project: ProjectSettings) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of one project's data checks, located as ``data_checks[N]``."""
    if not project.data_checks or project.db_dsn is None:
        return [], []
    try:
        conn = await connect(project.db_dsn.get_secret_value(), APPLICATION_NAME)
    except InvalidDsn as exc:
        return [Problem("db_dsn", str(exc))], []
    except Unreachable as exc:
        return [], [Problem("data_checks", f"the database cannot be reached ({exc}): not checked")]
    problems: list[Problem] = []
    warnings: list[Problem] = []
    try:
        if project.data_checks_role == "read_only":
            problems += [Problem("db_dsn", p) for p in await role_problems(conn)]
        for number, check in enumerate(project.data_checks):
            found, warned = await _check(conn, check)
            problems += under(f"data_checks[{number}]", found)
            warnings += under(f"data_checks[{number}]", warned)
    finally:
        await conn.close()
    return problems, warnings


_ROLE = """
SELECT r.rolname, r.rolsuper,
  EXISTS (
    SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_%'
      AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
  ) AS writes,
  ARRAY(
    SELECT g FROM unnest(ARRAY['pg_signal_backend', 'pg_execute_server_program',
      'pg_write_server_files', 'pg_read_server_files', 'pg_write_all_data']) AS g
    WHERE pg_has_role(r.oid, g, 'USAGE')
  ) AS acting
FROM pg_roles r WHERE r.rolname = current_user
"""


async def role_problems(conn: Any) -> list[str]:
    """Why the role of the connection is not one that can only read (empty when it is)."""
    row = await conn.fetchrow(_ROLE)
    name = row["rolname"]
    fix = (
        "; run the data checks on a role that can only read (GRANT pg_read_all_data), or set "
        'data_checks_role = "any" to accept it'
    )
    if row["rolsuper"]:
        return [f"role {name} is a superuser: a data check could act as one{fix}"]
    problems = []
    if row["writes"]:
        problems.append(f"role {name} can write to tables{fix}")
    if row["acting"]:
        problems.append(f"role {name} is a member of {', '.join(row['acting'])}{fix}")
    return problems


async def _check(conn: Any, check: DataCheckSettings) -> tuple[list[Problem], list[Problem]]:
    if check.kind is DataCheckKind.QUERY:
        return await _query(conn, check), []
    if await conn.fetchval("SELECT to_regclass($1)", sql.table_sql(check)) is None:
        return [Problem("table", f"{check.qualified} does not exist")], []
    columns = [("column", check.column)]
    if check.kind is DataCheckKind.SUM:
        columns.append(("time_column", check.time_column))
    missing = [
        Problem(key, f"{check.qualified} has no column {name!r}")
        for key, name in columns
        if name is not None and await conn.fetchval(_COLUMN, sql.table_sql(check), name) is None
    ]
    if missing or check.kind is DataCheckKind.NOT_EMPTY:
        return missing, []
    key = "column" if check.kind is DataCheckKind.FRESH else "time_column"
    try:
        if await checks.column_indexed(conn, check):
            return [], []
    except asyncpg.PostgresError as exc:  # a time column that is no timestamp, say
        return [Problem(key, checks.error_detail(exc))], []
    if check.kind is DataCheckKind.FRESH:
        return [
            Problem(
                "column",
                f"no index on {check.qualified} ({check.column}): fresh would read the whole"
                f" table each run, so it does not run; CREATE INDEX ON {check.qualified}"
                f" ({check.column})",
            )
        ], []
    return [], [
        Problem(
            "time_column",
            f"no index on {check.qualified} ({check.time_column}): each run reads the whole table",
        )
    ]


async def _query(conn: Any, check: DataCheckSettings) -> list[Problem]:
    """The query plans read-only and answers one column."""
    await conn.execute(sql.begin_read_only(check.timeout.total_seconds()))
    try:
        statement = await conn.prepare(check.sql or "")
        columns = len(statement.get_attributes())
    except asyncpg.PostgresError as exc:
        return [Problem("sql", checks.error_detail(exc))]
    finally:
        await conn.execute("ROLLBACK")
    return [] if columns == 1 else [Problem("sql", f"returns {columns} columns, not one number")]
