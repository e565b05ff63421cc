"""pg_dump and pg_restore must match the server's major version, and say so when they do not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.backup.dump import candidates, find_tool, tool_version
from sbwatch.backup.service import run_backup
from sbwatch.core.errors import BackupError, ToolVersionMismatch

from .conftest import (
    REAL_PG_DUMP,
    REF,
    Database,
    complete_backups,
    fake_tool,
    make_project,
    run_cli,
    write_config,
)

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)
PG_DUMP_16 = 'echo "pg_dump (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)"\n'


async def test_a_pg_dump_of_another_major_is_a_clear_error(
    small_db: Database, tmp_path: Path
) -> None:
    """pg_dump 16 against a server 15: the error names both versions and what to install."""
    tool = fake_tool(tmp_path, "pg_dump", PG_DUMP_16)
    project = make_project(small_db.dsn, tmp_path / "b", pg_dump=tool)
    with pytest.raises(ToolVersionMismatch) as err:
        await run_backup(project, NOW)
    message = str(err.value)
    assert "is 16.4" in message
    assert "major 15" in message
    assert "install postgresql-client-15" in message
    assert [] == complete_backups(tmp_path / "b" / REF)


async def test_a_missing_pg_dump_is_a_clear_error(small_db: Database, tmp_path: Path) -> None:
    """A configured pg_dump that does not exist: 'not found', naming the path."""
    project = make_project(small_db.dsn, tmp_path, pg_dump=tmp_path / "nowhere" / "pg_dump")
    with pytest.raises(BackupError, match=r"pg_dump not found \(.*nowhere/pg_dump\)"):
        await run_backup(project, NOW)


async def test_an_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    """A server nobody listens on: 'cannot connect to the project database', transient."""
    project = make_project("postgresql://postgres@127.0.0.1:9/postgres", tmp_path)
    with pytest.raises(BackupError, match="cannot connect to the project database") as err:
        await run_backup(project, NOW)
    assert err.value.transient


async def test_the_matching_major_is_found_among_several(tmp_path: Path) -> None:
    """Beside pg_dump a pg_restore 16 is looked at first; the search goes on to a 15."""
    fake_tool(tmp_path, "pg_restore", PG_DUMP_16.replace("pg_dump", "pg_restore"))
    beside = str(tmp_path / "pg_dump")
    assert str(tmp_path / "pg_restore") == candidates(None, "pg_restore", 15, beside)[0]
    tool = await find_tool("pg_restore", None, (15, "15.8"), beside=beside)
    assert (15, False) == (tool.major, tool.path.startswith(str(tmp_path)))


async def test_a_tool_that_prints_no_version(tmp_path: Path) -> None:
    """A program that is not pg_dump is refused by name."""
    tool = fake_tool(tmp_path, "pg_dump", "echo hello\n")
    with pytest.raises(BackupError, match="did not print a PostgreSQL version"):
        await tool_version(str(tool))
    assert 15 == (await tool_version(REAL_PG_DUMP)).major


def test_the_command_says_it_clearly(small_db: Database, tmp_path: Path) -> None:
    """`sbwatch backup run` with a mismatching pg_dump: exit 1, one line, no traceback."""
    tool = fake_tool(tmp_path, "pg_dump", PG_DUMP_16)
    config = write_config(tmp_path / "c.toml", small_db.dsn, f'pg_dump = "{tool}"')
    proc = run_cli("--config", str(config), "backup", "run", REF)
    lines = proc.stderr.strip().splitlines()
    assert (1, 1) == (proc.returncode, len(lines)), proc.stderr
    assert lines[0].startswith(f"backup run {REF}: pg_dump version mismatch")
    assert "Traceback" not in proc.stderr


def test_check_config_says_it_clearly(small_db: Database, tmp_path: Path) -> None:
    """check-config reads the server's version and reports the mismatch as a problem."""
    tool = fake_tool(tmp_path, "pg_dump", PG_DUMP_16)
    config = write_config(tmp_path / "c.toml", small_db.dsn, f'pg_dump = "{tool}"')
    proc = run_cli("--config", str(config), "check-config")
    assert 1 == proc.returncode
    said = "projects[0].backup (line 18): pg_dump version mismatch"
    assert proc.stderr.startswith(said), proc.stderr


def test_check_config_passes_with_matching_tools(small_db: Database, tmp_path: Path) -> None:
    """The installed pg_dump 15 against the server 15: configuration ok."""
    config = write_config(tmp_path / "c.toml", small_db.dsn)
    proc = run_cli("--config", str(config), "check-config")
    assert (0, "configuration ok: 1 project(s)") == (proc.returncode, proc.stdout.strip())


def test_check_config_only_warns_when_the_server_is_down(tmp_path: Path) -> None:
    """An unreachable database must not stop the watchdog from starting: a warning, exit 0."""
    config = write_config(tmp_path / "c.toml", "postgresql://postgres@127.0.0.1:9/postgres")
    proc = run_cli("--config", str(config), "check-config")
    assert 0 == proc.returncode
    warnings = proc.stderr.splitlines()
    said = "warning: projects[0].backup (line 18): cannot connect"
    assert any(w.startswith(said) for w in warnings)
