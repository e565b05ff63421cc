"""Exit codes and words that say what is so: status, budget, sql and data alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sbwatch.alerting.data_conditions import data_conditions
from sbwatch.cli import main
from sbwatch.commands.db import lines as db_lines
from sbwatch.config.settings import load_settings
from sbwatch.core.results import Alert, DataCheckKind, DataCheckResult, Severity, Verdict
from sbwatch.daemon.presence import KEY, NAMESPACE, Heartbeat
from sbwatch.store import open_store
from sbwatch.watch.state import STATE_NAMESPACE, correction_key

REF = "abcdefghijklmnopqrst"
TOKEN = "sbp_" + "0" * 40


def config_in(directory: Path) -> Path:
    """A configuration with one project named ``shop`` and its store beside it."""
    config = directory / "config.toml"
    config.write_text(
        f'mgmt_token = "{TOKEN}"\n[state]\npath = "s.db"\n'
        f'[[projects]]\nref = "{REF}"\nname = "shop"\nprobes = {{}}\n',
        encoding="utf-8",
    )
    return config


def seed(config: Path, *, alert: bool) -> None:
    """A daemon that completed a cycle just now, and an open data check alert when asked."""

    async def write() -> None:
        store = await open_store(load_settings(config).state)
        now = datetime.now(UTC)
        beat = Heartbeat("daemon@elsewhere:1", now, now, 30.0)
        await store.put_state(NAMESPACE, KEY, beat.to_doc())
        if alert:
            title = "open_orders: 3 rows"
            await store.save_alert(Alert(f"{REF}:data:x", REF, Severity.CRITICAL, title, "", now))
        await store.close()

    asyncio.run(write())


@pytest.mark.parametrize(("alert", "code"), [(False, 0), (True, 3)], ids=["quiet", "alert"])
def test_status_exits_3_while_a_data_check_alert_is_open(
    alert: bool, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project with no diagnosis and no probe down is still not healthy while an alert (a
    failing data check) is open: ``status`` exits 3, as its help says."""
    config = config_in(tmp_path)
    seed(config, alert=alert)
    assert code == main(["--config", str(config), "status"]), capsys.readouterr().out


def test_budget_set_takes_the_projects_name_as_silence_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``budget set shop 30`` records the reading under the project's ref."""
    config = config_in(tmp_path)
    assert 0 == main(["--config", str(config), "budget", "set", "shop", "30"])
    assert capsys.readouterr().out.startswith(f"{REF}: recorded 30% consumed")

    async def read() -> object:
        store = await open_store(load_settings(config).state)
        try:
            return await store.get_state(STATE_NAMESPACE, correction_key(REF))
        finally:
            await store.close()

    assert asyncio.run(read()) is not None


def test_sql_apply_without_file_names_the_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sql apply REF`` without FILE looks for ./supabase/migrations as ``sql status`` does,
    and says so when it is not there (not an argument error)."""
    config = config_in(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert 2 == main(["--config", str(config), "sql", "apply", REF, "--dry-run"])
    expected = "sbwatch sql apply: no FILE given and no ./supabase/migrations here\n"
    assert expected == capsys.readouterr().err


def test_a_query_check_alert_names_no_table() -> None:
    """A query check reads no one table: its alert says its name, not ``on -``."""
    check = DataCheckResult(
        "open_orders", DataCheckKind.QUERY, "-", Verdict.CRITICAL, 3.0, "3 above 0"
    )
    (condition,) = data_conditions(REF, [check])
    assert "open_orders: 3 above 0" == condition.title
    assert condition.body.endswith("Data check open_orders (query).")


def test_db_report_says_when_the_statistics_began_or_that_the_server_does_not() -> None:
    """No ``(?)``: without the server's reset time the report says it does not know it."""
    doc: dict[str, Any] = {
        "project": REF, "sampled_at": "2026-05-20T12:00:00+00:00", "baseline": "statistics",
        "since": None, "asked_since": None, "untouched": [], "tables": 4,
    }  # fmt: skip
    head = db_lines(doc)[0]
    assert "(?)" not in head
    assert head.endswith("since the statistics began, a time the server does not say:")
