"""``sbwatch ARGS`` run through the CLI's ``main()`` inside the test's own process.

What a ``python -m sbwatch ARGS`` subprocess runs, without the new interpreter and its
imports (from half a second to seconds of CPU each time): for tests about what a command
prints and returns, in the environment the tests' subprocesses get. Each command keeps a few
tests that start it as a real process (exit codes, output through real pipes), and what only
a process shows (a secret in a traceback, output at exit, signals) stays tested by processes.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from sbwatch.cli import main


@dataclass(frozen=True)
class Ran:
    """One finished command: its exit code and what it wrote on stdout and stderr (named as
    in subprocess.CompletedProcess)."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _structlog_kept() -> Iterator[None]:
    """structlog's configuration as it was before: commands set it up for their process (the
    replay at level error, into the stderr of the moment), which here is the test run's."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


CHILD_UNSET = ("CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET")
"""Besides SBWATCH_*, what the tests' subprocesses are started without (systemd's hand-overs)."""


@contextlib.contextmanager
def _environment_of_a_child() -> Iterator[None]:
    """No SBWATCH_* variable, credentials directory or notify socket, as the tests'
    subprocesses are started; the environment is put back afterwards."""
    saved = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("SBWATCH_") or name in CHILD_UNSET
    }
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


def run_main(*args: str | Path) -> Ran:
    """``sbwatch ARGS`` to completion in this process. Not on a running event loop (the
    commands run their own): an async test calls it through ``asyncio.to_thread``."""
    out, err = io.StringIO(), io.StringIO()
    with (
        _structlog_kept(),
        _environment_of_a_child(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exc:  # argparse refusing the command line, as a process exits
            code = exc.code if isinstance(exc.code, int) else 1
    return Ran(code, out.getvalue(), err.getvalue())
