"""``[[projects.data_checks]]``: validated per kind, located, and the example's keys valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sbwatch.config.settings import load_settings
from sbwatch.core.errors import ConfigError
from sbwatch.core.results import DataCheckKind, ProbeKind

ROOT = Path(__file__).resolve().parents[2]
PROJECT = """
[[projects]]
ref = "abcdefghijklmnopqrst"
db_dsn = "postgresql://u@h/d"
probes = { db = {} }
"""


def problems(text: str) -> list[str]:
    """The problems load_settings reports for a file (none: an empty list)."""
    try:
        load_settings(text=PROJECT + text)
    except ConfigError as exc:
        return exc.problems
    return []


def test_the_example_data_checks_validate_when_uncommented() -> None:
    """Every commented data check of config.example.toml is valid once uncommented."""
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    block = example[example.index("# [[projects.data_checks]]") : example.index("[mail]")]
    lines = [re.sub(r"^# ?", "", line) for line in block.splitlines() if line.startswith("#")]
    settings = load_settings(text=PROJECT + "\n".join(lines))
    project = settings.projects[0]
    assert [
        DataCheckKind.NOT_EMPTY,
        DataCheckKind.FRESH,
        DataCheckKind.SUM,
        DataCheckKind.QUERY,
    ] == [c.kind for c in project.data_checks]
    assert [ProbeKind.DB, ProbeKind.DATA] == project.enabled_probes()


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ('kind = "fresh"\ntable = "t"', ["column (line 6): required by kind fresh",
                                         "max_age (line 6): required by kind fresh"]),
        ('kind = "query"', ["sql (line 6): required by kind query"]),
        ('kind = "not_empty"\ntable = "t"\nmax_age = "1h"',
         ["max_age (line 10): not used by kind not_empty"]),
        ('kind = "sum"\ntable = "t"\ncolumn = "c"\nwarn_above = 10\ncritical_above = 5',
         ["warn_above (line 11): must not be above critical_above"]),
        ('kind = "not_empty"\ntable = "a b"', ["table (line 9): String should match pattern"]),
        ('kind = "not_empty"\ntable = "t"\ncolum = "x"',
         ["colum (line 10): unknown key 'colum'; did you mean 'column'?"]),
        ('kind = "sum"\ntable = "t"\ncolumn = "c"\nwindow = "yesterday"',
         ["window (line 11): invalid duration 'yesterday'"]),
    ],
)  # fmt: skip
def test_each_kind_is_checked_and_located(check: str, expected: list[str]) -> None:
    """A key a kind needs, one it does not use, inverted thresholds, unsafe names, typos:
    each a problem at its place."""
    found = problems(f'[[projects.data_checks]]\nname = "c"\n{check}\n')
    prefix = "projects[0].data_checks[0]."
    assert len(expected) == len(found), found
    for want, got in zip(expected, found, strict=True):
        assert got.startswith(prefix + want), found


def test_check_names_are_unique_per_project() -> None:
    """Two checks of one project may not share a name (it is their metric label)."""
    check = '[[projects.data_checks]]\nname = "c"\nkind = "not_empty"\ntable = "t"\n'
    assert ["projects[0].data_checks[1].name (line 11): duplicate data check name 'c'"] == problems(
        check + check
    )
