"""``make install``: sbwatch on PATH from a clone, with python3 and make only (no uv on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _path_without_uv() -> str:
    """$PATH less every directory holding a ``uv`` (or ``pipx``), as on a fresh machine."""
    keep = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not any((Path(d) / tool).exists() for tool in ("uv", "pipx"))
    ]
    return os.pathsep.join(keep)


def _make(root: Path, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    env["PATH"] = _path_without_uv()
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.slow
def test_make_install_puts_sbwatch_on_the_prefix(root: Path, tmp_path: Path) -> None:
    """``make install PREFIX=DIR`` links DIR/bin/sbwatch to its own environment; it runs."""
    assert shutil.which("uv", path=_path_without_uv()) is None
    prefix = tmp_path / "prefix"
    done = _make(root, "install", f"PREFIX={prefix}")
    assert 0 == done.returncode, done.stdout + done.stderr
    command = prefix / "bin" / "sbwatch"
    ran = subprocess.run(
        [str(command), "version"], capture_output=True, text=True, timeout=20, check=False
    )
    assert (str(prefix / "lib" / "sbwatch" / "bin" / "sbwatch"), "sbwatch 0.1.0\n") == (
        os.readlink(command),
        ran.stdout,
    )
    base = f"{sys.base_prefix}/bin/python3"  # the Python this suite runs on
    again = _make(root, "install", f"PREFIX={prefix}", f"PYTHON={base}")
    assert 0 == again.returncode, again.stderr  # installing over an install is fine
    in_home = base.startswith(("/root/", "/home/"))
    assert (in_home, in_home) == (
        "warning:" in again.stderr,
        "cannot run it; install with PYTHON=/usr/bin/python3" in again.stderr,
    ), again.stderr

    removed = _make(root, "uninstall", f"PREFIX={prefix}")
    assert (0, False, False) == (
        removed.returncode,
        command.exists(),
        (prefix / "lib" / "sbwatch").exists(),
    )


def test_the_default_prefix(root: Path) -> None:
    """Without PREFIX, root installs under /usr/local (where the unit runs it), others ~/.local."""
    done = _make(root, "-n", "install")
    expected = "/usr/local" if os.geteuid() == 0 else str(Path.home() / ".local")
    assert (0, True, True) == (
        done.returncode,
        f"{expected}/lib/sbwatch" in done.stdout,
        f"ln -sfn {expected}/lib/sbwatch/bin/sbwatch {expected}/bin/sbwatch" in done.stdout,
    ), done.stdout
    system = os.geteuid() == 0 and Path("/usr/bin/python3").exists()
    assert system == ('--python "$(command -v /usr/bin/python3)"' in done.stdout), done.stdout


def test_readme_install_section_offers_make_install_and_pipx(root: Path) -> None:
    """The README's install commands work without uv: make install first, pipx as the other."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert ["make install", "pipx install ."] == commands[:2], block
