"""[[maintenance]] windows and [alerting] escalate_after/escalate_to: validated, each problem
named by its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.config.settings import load_settings
from sbwatch.core.errors import ConfigError

REF = "abcdefghijklmnopqrst"

BASE = (
    'mgmt_token = "t"\n'
    f'projects = [{{ ref = "{REF}", name = "shop", url = "https://{REF}.supabase.co",'
    ' service_key = "k", probes = { db = { enabled = false } } }]\n'
)
ROUTES = (
    '[[alerting.routes]]\nname = "phone"\nurl = "json://127.0.0.1:9/a"\n'
    '[[alerting.routes]]\nname = "second"\nurl = "json://127.0.0.1:9/b"\nseverities = []\n'
)


def problems(text: str) -> list[str]:
    """The problems of a configuration (none when it loads)."""
    try:
        load_settings(text=text)
    except ConfigError as exc:
        return exc.problems
    return []


def test_a_span_and_a_repeating_window_load() -> None:
    """A window by start and end and one by cron and duration, by name and for every project."""
    text = BASE + (
        '[[maintenance]]\nproject = "shop"\nstart = 2026-06-01T10:00:00Z\n'
        'end = 2026-06-01T10:30:00Z\nreason = "db migration"\n'
        '[[maintenance]]\ncron = "0 2 * * sun"\nduration = "1h"\ntimezone = "Europe/Berlin"\n'
    )
    first, second = load_settings(text=text).maintenance
    assert ("shop", datetime(2026, 6, 1, 10, 30, tzinfo=UTC), "db migration") == (
        first.project,
        first.end,
        first.reason,
    )
    assert ("*", "0 2 * * sun", timedelta(hours=1)) == (
        second.project,
        second.cron,
        second.duration,
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("start = 2026-06-01T10:00:00Z\nend = 2026-06-01T09:00:00Z\n", "maintenance[0].end"),
        ("start = 2026-06-01T10:00:00Z\n", "maintenance[0].end"),
        ("end = 2026-06-01T10:00:00Z\n", "maintenance[0].start"),
        ('cron = "0 2 * * sun"\n', "maintenance[0].duration"),
        ('duration = "1h"\n', "maintenance[0].cron"),
        ('cron = "0 2 * *"\nduration = "1h"\n', "maintenance[0].cron"),
        ('cron = "0 2 * * *"\nduration = "8d"\n', "maintenance[0].duration"),
        (
            'cron = "0 2 * * *"\nduration = "1h"\nstart = 2026-06-01T10:00:00Z\n',
            "maintenance[0].start",
        ),
        ('project = "nope"\ncron = "0 2 * * *"\nduration = "1h"\n', "maintenance[0].project"),
        ("start = 2026-06-01T10:00:00\nend = 2026-06-01T11:00:00Z\n", "maintenance[0].start"),
        ('reason = "x"\n', "maintenance[0].start"),
        ('cron = "0 2 * * *"\nduration = "1h"\nwhen = "now"\n', "maintenance[0].when"),
    ],
)
def test_a_bad_window_is_refused_naming_its_field(entry: str, expected: str) -> None:
    """Each mistake is one problem that starts with the field it is about."""
    found = problems(BASE + "[[maintenance]]\n" + entry)
    assert [expected] == [p.split(" ")[0].split(":")[0] for p in found], found


def test_escalation_routes_load_and_are_checked() -> None:
    """escalate_to names routes; escalate_after is required with it, and the reverse."""
    settings = load_settings(
        text=BASE + '[alerting]\nescalate_after = "15m"\nescalate_to = ["second"]\n' + ROUTES
    )
    assert (timedelta(minutes=15), ["second"]) == (
        settings.alerting.escalate_after,
        settings.alerting.escalate_to,
    )
    unknown = problems(BASE + '[alerting]\nescalate_after = "15m"\nescalate_to = ["x"]\n' + ROUTES)
    alone = problems(BASE + '[alerting]\nescalate_to = ["second"]\n' + ROUTES)
    after_alone = problems(BASE + '[alerting]\nescalate_after = "15m"\n' + ROUTES)
    assert (
        ["alerting.escalate_to"],
        ["alerting.escalate_after"],
        ["alerting.escalate_to"],
    ) == tuple(
        [p.split(" ")[0].split(":")[0] for p in found] for found in (unknown, alone, after_alone)
    )
    assert "no route named 'x' in [[alerting.routes]] (routes: phone, second)" in unknown[0]
