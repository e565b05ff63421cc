"""Prometheus rules, their promtool unit tests, the scrape config and the Alertmanager example."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool and capture its output."""
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_rules_are_valid(root: Path) -> None:
    """promtool check rules accepts every rule file."""
    files = sorted((root / "deploy" / "prometheus" / "rules").glob("*.yml"))
    proc = run("promtool", "check", "rules", *map(str, files))
    assert (True, 0) == (bool(files), proc.returncode), proc.stdout + proc.stderr


def test_rule_unit_tests_pass(root: Path) -> None:
    """promtool test rules passes every unit test file in deploy/prometheus/tests."""
    files = sorted((root / "deploy" / "prometheus" / "tests").glob("*.yml"))
    proc = run("promtool", "test", "rules", *map(str, files))
    assert (True, 0) == (bool(files), proc.returncode), proc.stdout + proc.stderr


def test_rule_unit_tests_catch_a_changed_threshold(root: Path, tmp_path: Path) -> None:
    """The unit tests are sharp: moving the ETA threshold from 24 h to 12 h fails them."""
    source = root / "deploy" / "prometheus"
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    rules = (source / "rules" / "sbwatch.rules.yml").read_text(encoding="utf-8")
    assert "< 86400" in rules
    changed = rules.replace("< 86400", "< 43200")
    (tmp_path / "rules" / "sbwatch.rules.yml").write_text(changed, encoding="utf-8")
    for test_file in (source / "tests").glob("*.yml"):
        (tmp_path / "tests" / test_file.name).write_bytes(test_file.read_bytes())
    proc = run("promtool", "test", "rules", *map(str, (tmp_path / "tests").glob("*.yml")))
    assert 1 == proc.returncode
    assert "SupabaseIOBudgetExhaustionSoon" in proc.stdout + proc.stderr


def test_scrape_config_is_valid(root: Path) -> None:
    """promtool check config accepts prometheus.yml and finds the rule file it names."""
    proc = run(
        "promtool", "check", "config", str(root / "deploy" / "prometheus" / "prometheus.yml")
    )
    assert 0 == proc.returncode, proc.stdout + proc.stderr
    assert "127.0.0.1:9464" in (root / "deploy" / "prometheus" / "prometheus.yml").read_text()


def test_alertmanager_config_is_valid(root: Path) -> None:
    """amtool check-config accepts the Alertmanager example."""
    proc = run("amtool", "check-config", str(root / "deploy" / "alertmanager" / "alertmanager.yml"))
    assert 0 == proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("severity=critical", "alertname=SupabaseProjectDown", "project=prod"), "phone"),
        (("severity=warning", "alertname=SupabaseIOBudgetExhaustionSoon"), "ops-chat"),
    ],
)
def test_alertmanager_routes_critical_to_phone(
    root: Path, labels: tuple[str, ...], expected: str
) -> None:
    """Critical alerts page the phone; warnings go to the chat."""
    config = root / "deploy" / "alertmanager" / "alertmanager.yml"
    proc = run("amtool", "config", "routes", "test", f"--config.file={config}", *labels)
    assert (0, expected) == (proc.returncode, proc.stdout.strip())
