"""The provider's CLI, installed from npm by scripts/install-supabase-cli.sh, run by tests."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".tools" / "supabase-cli" / "node_modules" / ".bin" / "supabase"
VERSION = "2.117.0"
DEADLINE_S = 120.0


def cli_path() -> Path:
    """The CLI; the test fails, saying how to install it, when it is not there."""
    if not CLI.exists():
        pytest.fail(
            f"the Supabase CLI is not installed: run scripts/install-supabase-cli.sh ({CLI})"
        )
    return CLI


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment of the CLI's own: a throwaway home, and a proxy on a closed loopback port
    for anything but 127.0.0.1 (its release check), so it talks to loopback only."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "SUPABASE_TELEMETRY_DISABLED": "1",
        **extra,
    }


async def run_cli(
    *args: str, cwd: Path, env: dict[str, str], timeout_s: float = DEADLINE_S
) -> tuple[int, str, str]:
    """Run the CLI (bounded in time); its exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        str(cli_path()),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
