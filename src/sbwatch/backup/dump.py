"""pg_dump and pg_restore as subprocesses: found, version-checked, run, killed when cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sbwatch.backup.catalog import APPLICATION_NAME, quote_ident
from sbwatch.backup.dsn import ConnInfo
from sbwatch.config.settings import BackupSettings
from sbwatch.core.errors import BackupError, ToolVersionMismatch

DEBIAN_BIN = "/usr/lib/postgresql/{major}/bin"
"""Where Debian's postgresql-client-N puts each major version's tools."""
VERSION_TIMEOUT_S = 10.0
LOCK_WAIT_MS = 60_000
"""pg_dump gives up instead of waiting longer than this for a table lock."""
STDERR_LINES = 5
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_IGNORED = re.compile(r"errors ignored on restore:\s*(\d+)")


@dataclass(frozen=True)
class Tool:
    """A PostgreSQL client program and its version."""

    path: str
    version: str
    major: int


@dataclass(frozen=True)
class Finished:
    """A tool's exit status and the last lines it wrote to stderr (secrets redacted)."""

    returncode: int
    stderr: str

    def tail(self) -> str:
        """The last few stderr lines on one line."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return " | ".join(lines[-STDERR_LINES:])


def candidates(
    configured: Path | None, name: str, major: int, beside: str | None = None
) -> list[str]:
    """Where to look for ``name``: the configured path only, else beside, Debian's, PATH."""
    if configured is not None:
        return [str(configured)] if os.access(configured, os.X_OK) else []
    found = [os.path.join(os.path.dirname(beside), name)] if beside else []
    found.append(os.path.join(DEBIAN_BIN.format(major=major), name))
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    return [p for p in dict.fromkeys(found) if os.access(p, os.X_OK)]


async def tool_version(path: str) -> Tool:
    """Run ``path --version``; BackupError when it does not run or says no PostgreSQL version."""
    name = os.path.basename(path)
    try:
        proc = await asyncio.create_subprocess_exec(
            path,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(VERSION_TIMEOUT_S):
            out, _ = await proc.communicate()
    except (OSError, TimeoutError) as exc:
        raise BackupError(f"{name} ({path}) cannot be run: {exc}", transient=False) from None
    text = out.decode("utf-8", "replace").strip()
    match = _VERSION.search(text)
    if proc.returncode != 0 or match is None:
        raise BackupError(f"{path} --version did not print a PostgreSQL version", transient=False)
    version = match[1] if match[2] is None else f"{match[1]}.{match[2]}"
    return Tool(path, version, int(match[1]))


async def find_tool(
    name: str, configured: Path | None, server: tuple[int, str], beside: str | None = None
) -> Tool:
    """The first candidate of the server's major version; a clear error otherwise."""
    major, text = server
    paths = candidates(configured, name, major, beside)
    if not paths:
        where = str(configured) if configured else f"{DEBIAN_BIN.format(major=major)} or PATH"
        raise BackupError(
            f"{name} not found ({where}); install postgresql-client-{major}", transient=False
        )
    seen: list[Tool] = []
    for path in paths:
        tool = await tool_version(path)
        if tool.major == major:
            return tool
        seen.append(tool)
    found = ", ".join(f"{t.path} is {t.version}" for t in seen)
    raise ToolVersionMismatch(
        f"{name} version mismatch: the server runs PostgreSQL {text} (major {major}) but {found};"
        f" install postgresql-client-{major} or set backup.{name} to a {name} {major}"
    )


async def find_tools(settings: BackupSettings, server: tuple[int, str]) -> tuple[Tool, Tool]:
    """pg_dump and pg_restore of the server's major version."""
    pg_dump = await find_tool("pg_dump", settings.pg_dump, server)
    pg_restore = await find_tool("pg_restore", settings.pg_restore, server, beside=pg_dump.path)
    return pg_dump, pg_restore


async def run_tool(argv: Sequence[str], conn: ConnInfo, timeout_s: float) -> Finished:
    """Run a libpq tool; on timeout or cancellation its whole process group is killed."""
    env = {**os.environ, **conn.env(), "PGAPPNAME": APPLICATION_NAME, "PGCONNECT_TIMEOUT": "10"}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise BackupError(
            f"{os.path.basename(argv[0])} cannot be run: {exc}", transient=False
        ) from None
    try:
        async with asyncio.timeout(timeout_s):
            _, err = await proc.communicate()
    except BaseException as exc:
        await _kill(proc)
        if isinstance(exc, TimeoutError):
            name = os.path.basename(argv[0])
            raise BackupError(
                f"{name} did not finish within {timeout_s:.0f}s", transient=True
            ) from None
        raise
    assert proc.returncode is not None  # communicate() returned: the process has exited
    return Finished(proc.returncode, conn.redact(err.decode("utf-8", "replace")))


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await asyncio.shield(proc.wait())


def dump_argv(
    tool: Tool, conn: ConnInfo, schemas: Sequence[str], fmt: str, out: Path, snapshot: str | None
) -> list[str]:
    """The pg_dump command line (no password on it: that goes in the environment)."""
    argv = [
        tool.path,
        f"--dbname={conn.url}",
        f"--format={fmt}",
        "--compress=0",
        f"--file={out}",
        "--no-password",
        f"--lock-wait-timeout={LOCK_WAIT_MS}",
    ]
    if snapshot is not None:
        argv.append(f"--snapshot={snapshot}")
    argv += [f"--schema={quote_ident(s)}" for s in schemas]
    return argv


def restore_argv(tool: Tool, conn: ConnInfo, dump: Path) -> list[str]:
    """The pg_restore command line: no owners or grants (the scratch server lacks the roles)."""
    return [tool.path, f"--dbname={conn.url}", "--no-owner", "--no-acl", "--no-password", str(dump)]


def restore_errors(finished: Finished) -> int:
    """How many statements pg_restore could not run (0 on success)."""
    if finished.returncode == 0:
        return 0
    match = _IGNORED.search(finished.stderr)
    return int(match[1]) if match else 1
