"""One daemon per SQLite state store, even when its file is deleted under it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sbwatch.daemon.storelock import StoreFileLock

from .conftest import (
    ConfigParts,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    free_port,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.integration


def test_a_second_daemon_refuses_while_the_lock_is_held_without_a_state_file(
    sim: Sim, tmp_path: Path
) -> None:
    """The guard does not live in the state file: with the lock beside it held (as a running
    daemon holds it) and no state file at all, `sbwatch run` refuses to start."""
    holder = StoreFileLock(tmp_path / "state.db")
    holder.acquire()
    try:
        config = tmp_path / "config.toml"
        config.write_text(daemon_config(sim, tmp_path, free_port(), ConfigParts()))
        second = run_cli("--config", str(config), "run", timeout_s=30)
    finally:
        holder.release()
    assert (1, False) == (second.returncode, (tmp_path / "state.db").exists())
    assert f"another sbwatch daemon (daemon@{socket.gethostname()}:{os.getpid()})" in (
        second.stderr
    )


def test_a_daemon_whose_state_file_is_deleted_says_so_and_stops(
    sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path
) -> None:
    """The state file deleted under a running daemon (and made again by `status`): at its
    next renewal the daemon notices, says so on the phone, and stops acting."""
    port = free_port()
    parts = ConfigParts(extra=receiver.route())
    daemon = daemons.start(daemon_config(sim, tmp_path, port, parts), port)
    wait_for("a probe to run", lambda: daemon.events("probe finished"))
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)
    daemon.status()
    code = daemon.proc.wait(timeout_s=30)
    assert (0, 1) == (code, len(daemon.events("stopping: state store replaced")))
    assert any("its state store was replaced" in t for t in receiver.titles())
