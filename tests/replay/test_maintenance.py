"""Maintenance windows in replays: a real outage inside a window pages nobody, the same
outage outside one pages, and a window in auto mode holds the compute change to its end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.replay.conftest import Run

from sbwatch.core.errors import ConfigError
from sbwatch.sim.scenario import parse_scenario
from sbwatch.sim.scenario_maintenance import ScenarioWindow

Variant = Callable[[str], Run]
WINDOW_END_S = 45 * 60.0


def passed(variant: Variant, name: str) -> dict[str, Any]:
    """The report of a variant that exited 0 with every check held."""
    run = variant(name)
    assert 0 == run.code, run.stderr[-2000:] or run.stdout[-2000:]
    report: dict[str, Any] = run.report
    assert [] == [c for c in report["checks"] if not c["passed"]]
    return report


def test_an_outage_inside_a_window_pages_nobody(variant: Variant) -> None:
    """REST down for 30 minutes inside the window: diagnosed, recorded, never sent."""
    report = passed(variant, "maintenance-outage-inside")
    assert "service_down" in {d["kind"] for d in report["diagnoses"]}
    assert ([], 0) == (report["messages"], report["patch_attempts"])


def test_the_same_outage_outside_a_window_pages(variant: Variant) -> None:
    """The same outage with the window after it: a critical page, then its resolve."""
    report = passed(variant, "maintenance-outage-outside")
    assert [("critical", "open"), ("critical", "resolve")] == [
        (m["severity"], m.get("kind", "")) for m in report["alerts"]
    ]


def test_auto_mode_changes_nothing_until_the_window_ends(variant: Variant) -> None:
    """Budget used up and services failing in a window, auto mode: no PATCH and no message
    before the window ends; then one change, and the first message names the window."""
    report = passed(variant, "maintenance-exhausted-auto")
    [escalation] = report["escalations"]
    assert (True, "small", 1) == (
        escalation["at_s"] >= WINDOW_END_S,
        escalation["to"],
        report["patch_attempts"],
    )
    first = report["messages"][0]
    assert first["at_s"] >= WINDOW_END_S
    assert first["body"].startswith("After maintenance 00:00-00:45 UTC: bulk import\n")


HEAD = 'name = "w"\n[project]\nref = "abcdefghijklmnopqrst"\n'


def test_scenario_windows_parse_with_end_or_duration() -> None:
    """start with end, or start with duration; ref picks one project."""
    text = HEAD + (
        '[[maintenance]]\nstart = "1h"\nend = "2h"\nreason = "db migration"\n'
        '[[maintenance]]\nstart = "3h"\nduration = "30m"\nref = "abcdefghijklmnopqrst"\n'
    )
    assert (
        ScenarioWindow(3600.0, 7200.0, "db migration"),
        ScenarioWindow(10800.0, 12600.0, "maintenance", "abcdefghijklmnopqrst"),
    ) == parse_scenario(text).maintenance


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('end = "2h"\n', "maintenance[0].start (line 4): required: when it starts, like '1h'"),
        ('start = "1h"\n', "maintenance[0].end (line 4): give end or duration (one of them)"),
        ('start = "2h"\nend = "1h"\n', "maintenance[0].end (line 6): must be after start"),
        ('start = "1h"\nduration = "1h"\nwhy = "x"\n', "maintenance[0].why (line 7): unknown key"),
        (
            'start = "1h"\nduration = "1h"\nref = "bbbbbbbbbbbbbbbbbbbb"\n',
            "maintenance[0].ref (line 7): not a project of this scenario (abcdefghijklmnopqrst)",
        ),
    ],
)
def test_a_bad_scenario_window_is_named(table: str, expected: str) -> None:
    """Each problem names the window and the key, with its line."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(HEAD + "[[maintenance]]\n" + table)
    assert [expected] == caught.value.problems
