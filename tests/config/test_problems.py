"""Configuration problems are values: a location and a message, printed as ``location: message``
only at the edge, so no caller reads a location back out of the text."""

from __future__ import annotations

import tomllib

import pytest

from sbwatch.config.checks import toml_problem
from sbwatch.config.settings import load_settings
from sbwatch.config.tomlpos import TomlPositions
from sbwatch.core.errors import ConfigError
from sbwatch.core.problems import Problem, under

REF = "abcdefghijklmnopqrst"


def test_a_problem_prints_as_location_and_message() -> None:
    """``location: message``, with the line when known; a problem without a place is its text."""
    assert "state.path: not writable" == str(Problem("state.path", "not writable"))
    assert "ha.enabled (line 4): needs postgres" == str(Problem("ha.enabled", "needs postgres", 4))
    assert "no such event" == str(Problem("", "no such event"))


def test_a_problem_moves_under_a_prefix_with_its_message_unchanged() -> None:
    """``projects[0]`` + ``backup.dir`` is ``projects[0].backup.dir``; the message keeps its
    own colons."""
    found = under("projects[0]", [Problem("backup.dir", "/x: not writable"), Problem("", "m")])
    assert [
        Problem("projects[0].backup.dir", "/x: not writable"),
        Problem("projects[0]", "m"),
    ] == found


def test_positions_give_a_problem_its_line() -> None:
    """The key's line is found from the location; an unknown key keeps no line, and a problem
    that names no key stands at ``config``."""
    positions = TomlPositions('[state]\npath = "x"\n\n[[projects]]\nref = "r"\n')
    assert Problem("state.path", "m", 2) == positions.place(Problem("state.path", "m"))
    assert Problem("projects[0].ref", "m", 5) == positions.place(Problem("projects[0].ref", "m"))
    assert Problem("metrics.port", "m") == positions.place(Problem("metrics.port", "m"))
    assert Problem("config", "m") == positions.place(Problem("", "m"))


def test_a_check_across_sections_keeps_its_location_and_line() -> None:
    """A problem the whole configuration's check finds (a message with colons of its own)
    reaches ConfigError with its own location and line, not the configuration's root."""
    text = (
        'mgmt_token = "t"\n'
        "[[projects]]\n"
        f'ref = "{REF}"\n'
        f'url = "https://{REF}.supabase.co"\n'
        'service_key = "k"\n'
        "probes = { db = { enabled = false } }\n"
        "[ha]\n"
        "enabled = true\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(text=text)
    (problem,) = [p for p in caught.value.found if p.location == "ha.enabled"]
    assert 8 == problem.line
    assert problem.message.startswith("high availability needs [state] backend = 'postgres'")
    assert [str(p) for p in caught.value.found] == caught.value.problems


def test_a_toml_syntax_error_carries_its_line() -> None:
    """tomllib's position becomes the problem's line; the column stays in the message."""
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads("a = 1\nb = \n")
    problem = toml_problem("config.toml", caught.value)
    assert ("config.toml", 2) == (problem.location, problem.line)
    assert str(problem).startswith("config.toml (line 2): invalid TOML: ")
