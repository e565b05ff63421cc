"""The Prometheus rules alert on a missed backup and a failed restore check (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
TEST_FILE = PROMETHEUS / "tests" / "backup.rules.test.yml"

pytestmark = pytest.mark.integration


def _promtool_test(test_file: Path) -> subprocess.CompletedProcess[str]:
    """``promtool test rules FILE``, output captured."""
    return subprocess.run(
        ["promtool", "test", "rules", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_missed_backup_alerts() -> None:
    """The promtool cases pass: 26 h without a backup alerts, a failed check alerts."""
    proc = _promtool_test(TEST_FILE)
    assert 0 == proc.returncode, proc.stdout + proc.stderr


def test_the_cases_are_sharp(tmp_path: Path) -> None:
    """Moving the threshold from 26 h to 48 h makes the missed-backup case fail."""
    rules = (PROMETHEUS / "rules" / "sbwatch.rules.yml").read_text(encoding="utf-8")
    assert "> 93600" in rules
    for folder in ("rules", "tests"):
        (tmp_path / folder).mkdir()
    changed = rules.replace("> 93600", "> 172800")
    (tmp_path / "rules" / "sbwatch.rules.yml").write_text(changed, encoding="utf-8")
    (tmp_path / "tests" / TEST_FILE.name).write_bytes(TEST_FILE.read_bytes())
    proc = _promtool_test(tmp_path / "tests" / TEST_FILE.name)
    assert 1 == proc.returncode
    assert "SupabaseBackupMissed" in proc.stdout + proc.stderr
