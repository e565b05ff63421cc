"""Start-up cost: a command imports what it uses when it uses it (measured in bench/startup.py)."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sbwatch.cli import build_parser
from sbwatch.commands import HELPS, MODULES

HEAVY = ("apprise", "dkim", "dns", "pydantic_settings", "pydantic", "httpx", "asyncpg")
"""Libraries that cost start-up time: none is needed to print help or the version."""
REF = "abcdefghijklmnopqrst"


def imported_by(argv: list[str], cwd: Path) -> set[str]:
    """The top-level packages loaded by one in-process call of ``sbwatch ARGV``."""
    script = (
        "import json, sys\n"
        "from sbwatch.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [["version"], ["--help"]], ids=" ".join)
def test_help_and_version_import_no_heavy_library(argv: list[str], tmp_path: Path) -> None:
    """``sbwatch version`` and ``sbwatch --help`` load none of apprise, dkim, dnspython, the
    settings (pydantic-settings), httpx or asyncpg."""
    assert [] == sorted(set(HEAVY) & imported_by(argv, tmp_path))


def test_status_imports_no_probe_alert_or_mail_library(tmp_path: Path) -> None:
    """``status`` reads the configuration and the store: no HTTP, PostgreSQL, alert, DKIM or
    scheduler library is loaded for it."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "s.db"\n[[projects]]\nref = "{REF}"\nprobes = {{}}\n', encoding="utf-8"
    )
    (tmp_path / "s.db").touch()
    loaded = imported_by(["--config", str(config), "status"], tmp_path)
    assert "pydantic_settings" in loaded  # the call did read the configuration
    unwanted = {"apprise", "dkim", "dns", "httpx", "asyncpg", "apscheduler", "prometheus_client"}
    assert [] == sorted(unwanted & loaded)


def test_check_config_imports_what_the_configuration_uses(tmp_path: Path) -> None:
    """``check-config`` of a file without backups, mail or ``--online`` loads no PostgreSQL,
    HTTP or DKIM library: those checks import theirs when a configuration has them."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "s.db"\n[[projects]]\nref = "{REF}"\nprobes = {{}}\n', encoding="utf-8"
    )
    loaded = imported_by(["check-config", str(config)], tmp_path)
    assert "pydantic_settings" in loaded  # the call did read the configuration
    assert [] == sorted({"dkim", "dns", "httpx", "asyncpg"} & loaded)


def test_the_daemon_and_the_simulator_load_dkim_when_an_email_needs_it(tmp_path: Path) -> None:
    """Importing the daemon and the simulator loads neither dkimpy nor dnspython: the daemon
    verifies a signature only when an email arrives, the simulator signs only when it sends."""
    script = (
        "import json, sys\n"
        "import sbwatch.daemon.app, sbwatch.sim.serve\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "apprise" in loaded  # the imports did reach the daemon's alerting
    assert [] == sorted({"dkim", "dns"} & loaded)


def test_each_command_word_reaches_its_module_alone() -> None:
    """The table ``sbwatch --help`` lists is the commands' own: each module's NAME is its word,
    and a parser built for one word runs that module and configures no other."""
    for word, module_name in MODULES.items():
        module = importlib.import_module(module_name)
        assert word == module.NAME
        assert HELPS[word] == module.HELP
        choices = next(
            a.choices
            for a in build_parser(only=word)._actions
            if isinstance(a, argparse._SubParsersAction)  # argparse keeps subcommands only here
        )
        runs = {name: sub.get_default("_run") for name, sub in choices.items()}
        assert {word: module.run} == {name: run for name, run in runs.items() if run is not None}
