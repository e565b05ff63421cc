"""The command line itself: options in any place, --help, and expected errors in one line."""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sbwatch.cli import EXIT_BROKEN_PIPE, build_parser

from .conftest import (
    REF,
    Sim,
    child_env,
    run_cli,
    sbwatch_argv,
    start_sim,
)

# The arguments each command needs besides --config; one entry per command and subcommand.
COMMAND_LINES: dict[str, list[str]] = {
    "run": ["run"],
    "status": ["status"],
    "demo": ["demo"],
    "try": ["try"],
    "check-config": ["check-config"],
    "version": ["version"],
    "mail classify": ["mail", "classify", "x.eml"],
    "mail check": ["mail", "check"],
    "budget": ["budget"],
    "alert test": ["alert", "test"],
    "alert list": ["alert", "list"],
    "silence": ["silence", "--list"],
    "maintenance add": ["maintenance", "add", "shop", "--for", "30m"],
    "maintenance list": ["maintenance", "list"],
    "maintenance end": ["maintenance", "end", "1"],
    "ack": ["ack", "shop:service:rest"],
    "sim ctl": ["sim", "ctl", "stats"],
    "sim replay": ["sim", "replay", "x.toml"],
    "sim fuzz": ["sim", "fuzz"],
    "sim score": ["sim", "score"],
    "escalate": ["escalate"],
    "history": ["history"],
    "incidents": ["incidents"],
    "plan": ["plan"],
    "probe": ["probe", REF, "rest"],
    "backup run": ["backup", "run", REF],
    "backup verify": ["backup", "verify", REF],
    "backup list": ["backup", "list", REF],
    "db report": ["db", "report", REF],
    "sql apply": ["sql", "apply", REF, "20260501090000_x.sql"],
    "sql status": ["sql", "status", REF],
}


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command parser with its words, leaves and inner nodes alike."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _commands(child, (*path, name))


def test_the_table_names_every_command() -> None:
    """COMMAND_LINES covers every leaf command, so a new command is tested below too."""
    leaves = {
        " ".join(words)
        for words, parser in _commands(build_parser())
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    }
    assert leaves - {"sim serve"} == set(COMMAND_LINES)


@pytest.mark.parametrize("name", sorted(COMMAND_LINES))
def test_config_may_come_before_or_after_the_command(name: str) -> None:
    """``sbwatch --config F CMD``, ``sbwatch CMD --config F`` and ``-c F`` all reach CMD."""
    words = COMMAND_LINES[name]
    parser = build_parser()
    parsed = [
        parser.parse_args(["--config", "a.toml", *words]).config,
        parser.parse_args([*words, "--config", "a.toml"]).config,
        parser.parse_args([*words, "-c", "a.toml"]).config,
        parser.parse_args(["-c", "b.toml", *words, "--config", "a.toml"]).config,
        parser.parse_args(words).config,
    ]
    assert [Path("a.toml")] * 4 + [None] == parsed


def test_sim_serve_keeps_its_own_config() -> None:
    """``sim serve --config`` names the simulator's file; sbwatch's own may still come first."""
    args = build_parser().parse_args(["-c", "a.toml", "sim", "serve", "--config", "sim.toml"])
    assert (Path("a.toml"), Path("sim.toml")) == (args.config, args.sim_config)


def test_every_help_lists_config() -> None:
    """``--help`` of the top level and of every (sub)command shows --config."""
    parser = build_parser()
    helps = {"sbwatch": parser.format_help()}
    helps.update({" ".join(words): p.format_help() for words, p in _commands(parser)})
    missing = [name for name, text in helps.items() if "--config" not in text]
    assert [] == missing


def test_config_after_the_command_in_a_real_process(tmp_path: Path) -> None:
    """The form refused before ("unrecognized arguments") works in the installed command."""
    config = tmp_path / "config.toml"
    config.write_text(f'[[projects]]\nref = "{REF}"\nprobes = {{}}\n', encoding="utf-8")
    done = run_cli("check-config", "--config", str(config))
    assert (0, "configuration ok: 1 project(s)\n") == (done.returncode, done.stdout)


@pytest.mark.parametrize(
    ("argv", "unbuffered"),
    [
        (["--help"], False),
        (["version"], False),
        (["version"], True),
        (["sim", "ctl", "--help"], False),
        (["check-config", "--help"], False),
    ],
    ids=["help", "version", "version-unbuffered", "sim-ctl-help", "check-config-help"],
)
def test_a_closed_pipe_ends_quietly(argv: list[str], unbuffered: bool) -> None:
    """``sbwatch ... | head``: the reader is gone before the first line; no traceback, exit 141.

    (Unbuffered, argparse's own --help drops a failed write itself and exits 0.)
    """
    env = child_env()
    if not unbuffered:
        del env["PYTHONUNBUFFERED"]  # a pipe is block-buffered, as under a real shell
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before the child starts: its first write meets EPIPE
    try:
        done = subprocess.run(
            sbwatch_argv(*argv),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=20,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (EXIT_BROKEN_PIPE, "") == (done.returncode, done.stderr)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only stderr line of a failed run (fails on a traceback or several lines)."""
    lines = done.stderr.splitlines()
    assert (True, 1, False) == (done.returncode != 0, len(lines), "Traceback" in done.stderr), (
        done.stderr
    )
    return lines[0]


def test_sim_serve_on_a_taken_port(tmp_path: Path) -> None:
    """A port in use is one line on stderr and exit 1, not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "sim.toml").write_text(
            f'port = {port}\n[[projects]]\nref = "{REF}"\n', encoding="utf-8"
        )
        done = run_cli(
            "sim",
            "serve",
            "--config",
            str(tmp_path / "sim.toml"),
            env=child_env(XDG_RUNTIME_DIR=str(tmp_path)),
        )
    line = _one_line(done)
    assert (1, True) == (
        done.returncode,
        line.startswith(f"sim serve: cannot listen on 127.0.0.1:{port} (Address already in use)"),
    ), line
    assert not (tmp_path / "sbwatch-sim.url").exists()


def test_sim_ctl_with_no_simulator(tmp_path: Path) -> None:
    """Nothing listening: one line naming the URL and where it came from, exit 1."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}"
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path), SBWATCH_SIM_URL=url)
    done = run_cli("sim", "ctl", "network", "on=false", env=env)
    line = _one_line(done)
    assert (1, f"sim ctl: no simulator answers at {url} (URL from $SBWATCH_SIM_URL;") == (
        done.returncode,
        line[: len(f"sim ctl: no simulator answers at {url} (URL from $SBWATCH_SIM_URL;")],
    )


def test_sim_ctl_at_something_else(tmp_path: Path) -> None:
    """A server that is not the simulator (no JSON) is one line too, not a JSON traceback."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        proc = subprocess.Popen(
            sbwatch_argv("sim", "ctl", "stats", "--url", url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(XDG_RUNTIME_DIR=str(tmp_path)),
        )
        server.settimeout(20)
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n"
                b"Connection: close\r\n\r\n<html>"
            )
        out, err = proc.communicate(timeout=20)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert f"sim ctl: {url} answered HTTP 200 without JSON: is it the simulator?" == _one_line(done)


def test_a_store_that_cannot_be_opened(tmp_path: Path) -> None:
    """A state path under a regular file: one line from sbwatch, exit 1 (``silence`` writes, so
    it would create the store)."""
    (tmp_path / "afile").write_text("", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "afile" / "sub" / "s.db"}"\n'
        f'[[projects]]\nref = "{REF}"\nprobes = {{}}\n',
        encoding="utf-8",
    )
    done = run_cli("--config", str(config), "silence", REF, "--for", "1h")
    assert f"sbwatch: sqlite open failed: cannot create {tmp_path / 'afile' / 'sub'} " in (
        _one_line(done)
    )
    checked = run_cli("check-config", str(config))
    said = f"state.path (line 2): cannot create {tmp_path / 'afile' / 'sub' / 's.db'}: "
    assert said in _one_line(checked)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Sim]:
    """``sbwatch sim serve`` with XDG_RUNTIME_DIR in the test's directory."""
    running = start_sim(tmp_path)
    try:
        yield running
    finally:
        running.proc.close()


@pytest.mark.integration
def test_sim_ctl_finds_the_simulator_sim_serve_started(served: Sim, tmp_path: Path) -> None:
    """sim serve prints the exact ctl URL and leaves it where sim ctl looks; SIGTERM removes it."""
    url_file = tmp_path / "sbwatch-sim.url"
    assert f"sbwatch sim ctl --url {served.url} KIND" in served.proc.stdout
    assert f"{served.url}\n" == url_file.read_text(encoding="utf-8")
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path))
    done = run_cli("sim", "ctl", "service", "name=rest", "up=false", f"ref={REF}", env=env)
    assert (0, "") == (done.returncode, done.stderr)
    truth = httpx.get(f"{served.url}/_sim/truth/{REF}", timeout=5).json()
    assert ["rest"] == truth["down"]

    served.proc.signal(signal.SIGTERM)
    assert 0 == served.proc.wait(10)
    assert not url_file.exists()


def test_sim_ctl_demands_every_key_before_sending(tmp_path: Path) -> None:
    """``service name=rest`` without ``up`` is refused (exit 2) without reaching any server."""
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path), SBWATCH_SIM_URL="http://127.0.0.1:9")
    missing = run_cli("sim", "ctl", "service", "name=rest", env=env)
    bad = run_cli("sim", "ctl", "mgmt_api", "fault=explode", env=env)
    assert (2, "sim ctl: up: required for a service event") == (
        missing.returncode,
        _one_line(missing),
    )
    assert (2, True) == (
        bad.returncode,
        _one_line(bad).startswith("sim ctl: fault: must be one of rate_limit, error, slow"),
    )


def test_sim_ctl_help_lists_kinds_and_values() -> None:
    """``sim ctl --help`` names every event kind with its keys, and every fault and value."""
    from sbwatch.sim.scenario import EVENT_KEYS

    ctl = dict(_commands(build_parser()))[("sim", "ctl")]
    text = ctl.format_help()
    kinds = [kind for kind in EVENT_KEYS if re.search(rf"^  {kind} ", text, re.MULTILINE)]
    faults = re.search(r"^  fault +(.*)$", text, re.MULTILINE)
    assert (list(EVENT_KEYS), "rate_limit, error, slow, drop_after_apply, none") == (
        kinds,
        faults.group(1) if faults else None,
    )
    assert "service          name=NAME up=true|false" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "{file}: empty; start from config.example.toml (every key)"),
        (
            '[state]\nbackend = "sqlite"\n',
            "projects: no [[projects]] table: there is nothing to watch",
        ),
    ],
    ids=["empty", "no-project"],
)
def test_run_refuses_a_file_with_nothing_to_watch(text: str, expected: str, tmp_path: Path) -> None:
    """``sbwatch run`` on an empty file or one without a project: one line, exit 1."""
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    done = run_cli("run", "--config", str(config))
    assert (1, expected.replace("{file}", str(config))) == (done.returncode, _one_line(done))
