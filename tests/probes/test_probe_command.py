"""``sbwatch probe REF KIND``: one real run from the command line, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.probes.conftest import DB_PASSWORD, REF, SECRETS, db_dsn
from tests.servers import free_port


def _config(tmp_path: Path, *, rest_port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
log_level = "debug"
mgmt_token = "sbp_10e4971de4326582103b917a7d441e5229d830d9"
[[projects]]
ref = "{REF}"
url = "http://127.0.0.1:{rest_port}/p/{REF}"
db_dsn = "{db_dsn("postgres")}"
service_key = "svc-key-7f3a9c1e5b2d4f6a8c0e"
""",
        encoding="utf-8",
    )
    return path


def _sbwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sbwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.integration
def test_db_probe_json(tmp_path: Path) -> None:
    """`probe REF db --json` prints one JSON result and exits 0 when the database answers."""
    done = _sbwatch(
        "--config", str(_config(tmp_path, rest_port=free_port())), "probe", REF, "db", "--json"
    )
    result = json.loads(done.stdout)
    assert (0, "ok", "db", REF) == (
        done.returncode,
        result["outcome"],
        result["probe"],
        result["project"],
    )
    assert "probe finished" in done.stderr
    assert DB_PASSWORD not in done.stdout + done.stderr


def test_refused_rest_probe_exits_1(tmp_path: Path) -> None:
    """A failing probe prints its outcome and detail and exits 1, with no secret in any output."""
    done = _sbwatch("--config", str(_config(tmp_path, rest_port=free_port())), "probe", REF, "rest")
    assert 1 == done.returncode
    assert "rest  error" in done.stdout
    assert "connection refused" in done.stdout
    assert not any(secret in done.stdout + done.stderr for secret in SECRETS)


def test_unknown_project_exits_2(tmp_path: Path) -> None:
    """A ref that is not configured exits 2 and names it."""
    done = _sbwatch(
        "--config", str(_config(tmp_path, rest_port=1)), "probe", "zzzzzzzzzzzzzzzzzzzz", "db"
    )
    assert 2 == done.returncode
    assert "zzzzzzzzzzzzzzzzzzzz" in done.stderr
