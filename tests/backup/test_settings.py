"""The [projects.backup] table: off unless present, defaults, and located errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.config.settings import load_settings
from sbwatch.core.cron import cron_trigger, previous_fire
from sbwatch.core.errors import ConfigError

from .conftest import REF

BASE = f"""\
[[projects]]
ref = "{REF}"
db_dsn = "postgresql://postgres@127.0.0.1/postgres"
probes = {{}}
"""


def test_backups_are_off_unless_configured() -> None:
    """No [projects.backup]: no backup; an empty one: on, with the defaults of the issue."""
    off = load_settings(text=BASE).projects[0]
    on = load_settings(text=BASE + "[projects.backup]\n").projects[0]
    assert (None, False, True) == (off.backup, off.backs_up, on.backs_up)
    backup = on.backup
    assert backup is not None
    assert ("30 3 * * *", timedelta(days=30), timedelta(days=7)) == (
        backup.schedule,
        backup.retention,
        backup.verify,
    )
    assert (None, [], timedelta(hours=6), timedelta(hours=26)) == (
        backup.schemas,
        backup.provider_schemas,
        backup.defer_max,
        backup.max_age,
    )
    disabled = load_settings(text=BASE + "[projects.backup]\nenabled = false\n").projects[0]
    assert False is disabled.backs_up


def test_the_default_directory_is_the_state_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd: $STATE_DIRECTORY/backups."""
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/sbwatch")
    backup = load_settings(text=BASE + "[projects.backup]\n").projects[0].backup
    assert backup is not None
    assert Path("/var/lib/sbwatch/backups") == backup.base_dir()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('schedule = "99 3 * * *"', "projects[0].backup.schedule (line 6): invalid schedule"),
        ('timezone = "Mars/Olympus"', "projects[0].backup.timezone (line 6): unknown time zone"),
        ('verify = "weekly"', "projects[0].backup.verify (line 6): invalid duration"),
        ("dirr = '/x'", "projects[0].backup.dirr (line 6): unknown key 'dirr'"),
    ],
)
def test_mistakes_are_located(extra: str, expected: str) -> None:
    """Each mistake in the table is reported at its key and line."""
    with pytest.raises(ConfigError) as err:
        load_settings(text=BASE + f"[projects.backup]\n{extra}\n")
    assert [expected] == [p[: len(expected)] for p in err.value.problems]


def test_a_backup_needs_the_database_dsn() -> None:
    """[projects.backup] without db_dsn is a problem naming db_dsn."""
    text = BASE.replace('db_dsn = "postgresql://postgres@127.0.0.1/postgres"\n', "")
    with pytest.raises(ConfigError, match="db_dsn is required by the backup"):
        load_settings(text=text + "[projects.backup]\n")


def test_the_verify_dsn_is_a_secret_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_dsn takes env:/file:/cred: references like every secret, and hides its value."""
    monkeypatch.setenv("SCRATCH_DSN", "postgresql://u:hidden-pw@127.0.0.1/postgres")
    backup = (
        load_settings(text=BASE + '[projects.backup]\nverify_dsn = "env:SCRATCH_DSN"\n')
        .projects[0]
        .backup
    )
    assert backup is not None
    assert "hidden-pw" not in repr(backup)
    assert backup.verify_dsn is not None
    assert "hidden-pw" in backup.verify_dsn.get_secret_value()


def test_cron_weekdays_count_sunday_as_zero() -> None:
    """'0 4 * * 0' fires on Sundays (APScheduler 3 alone would take 0 for Monday)."""
    trigger = cron_trigger("0 4 * * 0", "UTC")
    fire = trigger.get_next_fire_time(None, datetime(2026, 5, 20, tzinfo=UTC))
    assert datetime(2026, 5, 24, 4, tzinfo=UTC) == fire
    assert "Sunday" == f"{fire:%A}"


def test_the_previous_fire_of_a_daily_schedule() -> None:
    """The last 03:30 before now: today's after it, yesterday's before it."""
    trigger = cron_trigger("30 3 * * *", "UTC")
    assert datetime(2026, 5, 20, 3, 30, tzinfo=UTC) == previous_fire(
        trigger, datetime(2026, 5, 20, 9, tzinfo=UTC)
    )
    assert datetime(2026, 5, 19, 3, 30, tzinfo=UTC) == previous_fire(
        trigger, datetime(2026, 5, 20, 3, 29, tzinfo=UTC)
    )
