"""`sbwatch backup run`, `verify --json` and `list` as subprocesses; the secrets never show."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from .conftest import (
    DB_PASSWORD,
    REF,
    ROWS,
    SECRETS,
    TABLES,
    Database,
    run_cli,
    scratch_databases,
    write_config,
)

pytestmark = pytest.mark.integration


def _leaks(*texts: str) -> list[str]:
    """The secrets found in some texts."""
    return [s for s in SECRETS if any(s in t for t in texts)]


def _files_text(directory: Path) -> str:
    """Everything under a directory, archives decompressed, as text."""
    parts = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        parts.append((gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode("latin-1"))
    return "\n".join(parts)


async def test_run_then_verify_a_64_table_database(db64: Database, tmp_path: Path) -> None:
    """run, then verify --json: ok with 64 tables and every row; list shows it restores."""
    config = write_config(tmp_path / "c.toml", db64.secret_dsn, top='log_level = "debug"')
    ran = run_cli("--config", str(config), "backup", "run", REF)
    verified = run_cli("--config", str(config), "backup", "verify", REF, "--json")
    listed = run_cli("--config", str(config), "backup", "list", REF, "--json")
    assert (0, 0, 0) == (ran.returncode, verified.returncode, listed.returncode), (
        ran.stderr + verified.stderr + listed.stderr
    )
    report = json.loads(verified.stdout)
    assert (True, TABLES, ROWS) == (report["ok"], report["tables"], report["rows"])
    assert {"ok", "tables", "rows", "seconds"} <= report.keys()
    [row] = json.loads(listed.stdout)
    assert (TABLES, ROWS, True) == (row["tables"], row["rows"], row["verified"]["ok"])
    assert f"{REF}: wrote " in ran.stdout
    assert [] == await scratch_databases()
    outputs = [p.stdout + p.stderr for p in (ran, verified, listed)]
    assert [] == _leaks(*outputs, _files_text(tmp_path / "backups"))

    [stored] = (tmp_path / "backups").rglob("*.tar.gz")  # cut short after its check
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])
    shown = run_cli("--config", str(config), "backup", "list", REF)
    [line] = shown.stdout.splitlines()
    assert line.endswith(f"{TABLES} tables  {ROWS} rows  not verified (changed since its check)")


def test_errors_are_one_line_without_the_secret(tmp_path: Path) -> None:
    """An unreachable database: exit 1, one line naming the cause, no password, no traceback."""
    dsn = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:9/postgres"
    config = write_config(tmp_path / "c.toml", dsn)
    ran = run_cli("--config", str(config), "backup", "run", REF)
    verified = run_cli("--config", str(config), "backup", "verify", REF)
    checked = run_cli("--config", str(config), "check-config")
    assert (1, 1) == (ran.returncode, verified.returncode)
    assert ran.stderr.startswith(f"backup run {REF}: cannot connect to the project database")
    assert verified.stderr.startswith(f"backup verify {REF}: no backup of {REF} to verify")
    assert [1, 1] == [len(p.stderr.strip().splitlines()) for p in (ran, verified)]
    assert [] == _leaks(*(p.stdout + p.stderr for p in (ran, verified, checked)))


def test_a_project_without_backups(tmp_path: Path) -> None:
    """A project without [projects.backup], or an unknown ref: exit 2 saying so."""
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[projects]]\nref = "{REF}"\nprobes = {{}}\n[status_page]\nenabled = false\n',
        encoding="utf-8",
    )
    off = run_cli("--config", str(config), "backup", "run", REF)
    unknown = run_cli("--config", str(config), "backup", "list", "zzzzzzzzzzzzzzzzzzzz")
    assert (2, 2) == (off.returncode, unknown.returncode)
    assert f"backups of {REF} are off" in off.stderr
