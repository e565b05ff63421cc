"""``sbwatch check-config --online``: the data checks against the real database.

The first test runs the command as a process; the others call the CLI's main() in this
process (tests/in_process.py), which prints and returns the same without a process's imports.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from tests.datachecks.conftest import DB_PASSWORD, REF, Database
from tests.in_process import Ran, run_main

pytestmark = pytest.mark.integration

CONFIG = """
[state]
path = "{state}"

[alerting]
routes = [{{ name = "log", url = "json://127.0.0.1:1/hook" }}]

[[projects]]
ref = "{ref}"
db_dsn = "{dsn}"
data_checks_role = "any"
probes = {{ data = {{}} }}

[[projects.data_checks]]
name = "fresh_orders"
kind = "fresh"
table = "orders"
column = "updated_at"
max_age = "1h"

[[projects.data_checks]]
name = "spend"
kind = "sum"
table = "orders"
column = "amount"
time_column = "updated_at"
critical_above = 100

[[projects.data_checks]]
name = "gone"
kind = "not_empty"
table = "public.missing"

[[projects.data_checks]]
name = "no_such_column"
kind = "fresh"
table = "orders"
column = "created"
max_age = "1h"

[[projects.data_checks]]
name = "two_columns"
kind = "query"
sql = "SELECT 1, 2"
"""


def check_config_process(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``sbwatch check-config FILE ...`` as a process of this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "sbwatch", "check-config", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def check_config(path: Path, *extra: str) -> Ran:
    """``sbwatch check-config FILE ...`` in this process."""
    return run_main("check-config", path, *extra)


async def check_config_async(path: Path, *extra: str) -> Ran:
    """:func:`check_config` from a test on the event loop (the command runs its own loop)."""
    return await asyncio.to_thread(check_config, path, *extra)


async def test_online_says_what_the_database_lacks(database: Database, tmp_path: Path) -> None:
    """--online names a missing index for fresh (a problem) and for sum (a warning), a missing
    table and column, and a query of two columns; once indexed, fresh passes. Without
    --online nothing is asked. The DSN's password is never printed."""
    await database.execute(
        "CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric, updated_at timestamptz)"
    )
    config = tmp_path / "config.toml"
    text = CONFIG.format(state=tmp_path / "state.db", ref=REF, dsn=database.dsn)
    config.write_text(text, encoding="utf-8")
    assert 0 == check_config_process(config).returncode
    done = check_config_process(config, "--online")
    lines = done.stderr.splitlines()
    assert 1 == done.returncode
    assert [
        "projects[0].data_checks[0].column (line 18): no index on public.orders (updated_at):"
        " fresh would"
        " read the whole table each run, so it does not run; CREATE INDEX ON public.orders"
        " (updated_at)",
        "projects[0].data_checks[2].table (line 32): public.missing does not exist",
        "projects[0].data_checks[3].column (line 38): public.orders has no column 'created'",
        "projects[0].data_checks[4].sql (line 44): returns 2 columns, not one number",
    ] == lines
    assert DB_PASSWORD not in done.stdout + done.stderr

    await database.execute(
        "CREATE INDEX ON public.orders (updated_at);"
        " ALTER TABLE public.orders ADD COLUMN booked_at timestamptz"
    )
    fixed = text.split('[[projects.data_checks]]\nname = "gone"')[0]
    fixed = fixed.replace('time_column = "updated_at"', 'time_column = "booked_at"')
    config.write_text(fixed, encoding="utf-8")
    done = check_config_process(config, "--online")
    assert (0, ["warning: projects[0].data_checks[1].time_column (line 26): no index on"
                " public.orders (booked_at): each run reads the whole table"]) == (
        done.returncode, [line for line in done.stderr.splitlines() if "data_checks" in line]
    ), done.stderr  # fmt: skip


async def test_online_with_the_database_down_only_warns(tmp_path: Path) -> None:
    """An unreachable database is a warning: the checks are not verified, the file is valid."""
    config = tmp_path / "config.toml"
    dsn = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:1/none"
    text = CONFIG.format(state=tmp_path / "state.db", ref=REF, dsn=dsn)
    config.write_text(text, encoding="utf-8")
    done = await check_config_async(config, "--online")
    assert 0 == done.returncode, done.stderr
    assert "projects[0].data_checks (line 8): the database cannot be reached" in done.stderr
    assert DB_PASSWORD not in done.stdout + done.stderr


async def test_online_names_a_time_column_that_is_no_timestamp(
    database: Database, tmp_path: Path
) -> None:
    """A sum over a time column of integers is a problem with the server's own words."""
    await database.execute(
        "CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric, updated_at timestamptz)"
    )
    text = CONFIG.format(state=tmp_path / "state.db", ref=REF, dsn=database.dsn)
    text = text.split('[[projects.data_checks]]\nname = "gone"')[0]
    config = tmp_path / "config.toml"
    config.write_text(text.replace('time_column = "updated_at"', 'time_column = "id"'))
    done = await check_config_async(config, "--online")
    assert 1 == done.returncode
    assert (
        "projects[0].data_checks[1].time_column (line 26): server error 42883: operator"
        " does not exist: integer >= timestamp with time zone"
    ) in done.stderr.splitlines()


ONE_CHECK = """
[state]
path = "{state}"

[alerting]
routes = [{{ name = "log", url = "json://127.0.0.1:1/hook" }}]

[[projects]]
ref = "{ref}"
db_dsn = "{dsn}"
probes = {{ data = {{}} }}

[[projects.data_checks]]
name = "rows"
kind = "not_empty"
table = "orders"
"""


@pytest.mark.parametrize(
    ("grant", "said"),
    [
        (None, "role postgres is a superuser: a data check could act as one"),
        ("GRANT INSERT ON public.orders TO {role}", "role {role} can write to tables"),
        ("GRANT pg_signal_backend TO {role}", "role {role} is a member of pg_signal_backend"),
        ("GRANT pg_execute_server_program TO {role}", "is a member of pg_execute_server_program"),
    ],
    ids=["superuser", "writer", "signaller", "programs"],
)
async def test_online_refuses_a_role_that_can_act(
    database: Database, tmp_path: Path, grant: str | None, said: str
) -> None:
    """--online refuses a superuser or a role that can write, kill sessions or run programs
    for data checks, saying so on db_dsn; a role with pg_read_all_data only passes, and
    data_checks_role = "any" accepts the refused one."""
    role = f"sbw_ro_{secrets.token_hex(4)}"
    await database.execute("CREATE TABLE public.orders (id int PRIMARY KEY)")
    await database.execute(f"CREATE ROLE {role} LOGIN; GRANT pg_read_all_data TO {role}")
    try:
        reader = database.dsn.replace("postgres:", f"{role}:", 1)
        config = tmp_path / "config.toml"
        state = tmp_path / "state.db"
        config.write_text(ONE_CHECK.format(state=state, ref=REF, dsn=reader), encoding="utf-8")
        clean = await check_config_async(config, "--online")
        if grant is not None:
            await database.execute(grant.format(role=role))
        dsn = database.dsn if grant is None else reader
        text = ONE_CHECK.format(state=state, ref=REF, dsn=dsn)
        config.write_text(text, encoding="utf-8")
        refused = await check_config_async(config, "--online")
        config.write_text(text.replace("probes =", 'data_checks_role = "any"\nprobes ='))
        accepted = await check_config_async(config, "--online")
    finally:
        await database.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    problems = [line for line in refused.stderr.splitlines() if "db_dsn" in line]
    assert (0, 1, 0) == (clean.returncode, refused.returncode, accepted.returncode), (
        clean.stderr + refused.stderr + accepted.stderr
    )
    assert 1 == len(problems)
    assert problems[0].startswith("projects[0].db_dsn (line 10): ")
    assert said.format(role=role) in problems[0]


def test_acting_statements_are_refused_without_asking_the_server(tmp_path: Path) -> None:
    """COPY, pg_terminate_backend, pg_cancel_backend, dblink and a second statement are
    refused by check-config (no --online), each on its check's sql."""
    statements = [
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned'",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        'SELECT count(*) FROM pg_stat_activity WHERE "pg_cancel_backend"(pid)',
        "SELECT dblink_exec('dbname=x', 'INSERT INTO t VALUES (1)')",
        "SELECT 1; DELETE FROM orders",
    ]
    checks = "".join(
        f'\n[[projects.data_checks]]\nname = "q{i}"\nkind = "query"\nsql = "{sql}"\n'
        for i, sql in enumerate(s.replace('"', '\\"') for s in statements)
    )
    config = tmp_path / "config.toml"
    text = ONE_CHECK.format(state=tmp_path / "s.db", ref=REF, dsn="postgresql://u@127.0.0.1/d")
    config.write_text(text + checks, encoding="utf-8")
    done = check_config(config)
    lines = [re.sub(r" \(line \d+\)", "", line) for line in done.stderr.splitlines()]
    assert 1 == done.returncode
    assert [
        "projects[0].data_checks[1].sql: COPY is refused: it reads or writes files and programs"
        " on the server",
        "projects[0].data_checks[2].sql: calls pg_terminate_backend: refused, it acts outside"
        " the read-only transaction",
        "projects[0].data_checks[3].sql: calls pg_cancel_backend: refused, it acts outside the"
        " read-only transaction",
        "projects[0].data_checks[4].sql: calls dblink_exec: refused, it acts outside the"
        " read-only transaction",
        "projects[0].data_checks[5].sql: one statement only: a ';' separates two",
    ] == [line for line in lines if ".sql:" in line]


@pytest.mark.parametrize(
    ("dsn", "said"),
    [
        (f"mysql://root:{DB_PASSWORD}@127.0.0.1/shop", "must be a postgresql:// URL (not 'mysql')"),
        (f"postgresql://u:{DB_PASSWORD}@127.0.0.1:99999/d", "is not a valid postgresql:// URL"),
        (f"host=127.0.0.1 password={DB_PASSWORD}", "must be a postgresql:// URL"),
    ],
    ids=["mysql", "bad-port", "not-a-url"],
)
def test_a_dsn_that_is_not_postgresql_is_refused(tmp_path: Path, dsn: str, said: str) -> None:
    """check-config refuses a db_dsn of another database or one that does not parse, naming
    the field and never the DSN."""
    config = tmp_path / "config.toml"
    config.write_text(ONE_CHECK.format(state=tmp_path / "s.db", ref=REF, dsn=dsn))
    done = check_config(config)
    lines = [re.sub(r" \(line \d+\)", "", line) for line in done.stderr.splitlines()]
    assert (1, True) == (done.returncode, f"projects[0].db_dsn: {said}" in "\n".join(lines))
    assert DB_PASSWORD not in done.stdout + done.stderr
