"""The Dockerfile: a non-root runtime, a working health check, and the documented interface."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import start_http_server

from sbwatch.cli import build_parser
from sbwatch.core.metrics import Metrics


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line[:-1].strip()}" if line.endswith("\\") else f"{pending} {line}"
        if not line.endswith("\\"):
            word, _, args = pending.strip().partition(" ")
            out.append((word.upper(), args.strip()))
            pending = ""
    return out


@pytest.fixture
def final_stage(root: Path) -> list[tuple[str, str]]:
    """Instructions of the last build stage (the runtime image)."""
    steps = instructions(root / "Dockerfile")
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def only(steps: list[tuple[str, str]], word: str) -> str:
    """Arguments of the one instruction of a kind."""
    found = [args for w, args in steps if w == word]
    assert 1 == len(found), word
    return found[0]


def test_runtime_base_and_user(final_stage: list[tuple[str, str]]) -> None:
    """The runtime stage is python:3.11-slim and runs as the unprivileged sbwatch user."""
    user = only(final_stage, "USER")
    assert ("python:3.11-slim", "sbwatch:sbwatch") == (final_stage[0][1], user)
    words = [w for w, _ in final_stage]
    assert words.index("USER") < words.index("ENTRYPOINT")


def test_exposes_metrics_and_runs_the_daemon(final_stage: list[tuple[str, str]]) -> None:
    """Port 9464 is exposed and the default command is `sbwatch --config ... run`."""
    command = json.loads(only(final_stage, "ENTRYPOINT")) + json.loads(only(final_stage, "CMD"))
    assert ("9464", ["sbwatch", "--config", "/etc/sbwatch/config.toml", "run"]) == (
        only(final_stage, "EXPOSE"),
        command,
    )
    args = build_parser().parse_args([*command[1:-1], "check-config"])
    assert Path("/etc/sbwatch/config.toml") == args.config


def test_installs_the_wheel_from_the_lock(root: Path) -> None:
    """The image installs the built wheel and the hashed dependencies exported from uv.lock."""
    runs = " ".join(args for word, args in instructions(root / "Dockerfile") if word == "RUN")
    assert "uv build --wheel" in runs
    assert "uv export --frozen --no-dev" in runs
    assert "--require-hashes" in runs
    assert "--no-deps /tmp/dist/sbwatch-*.whl" in runs


def healthcheck_command(final_stage: list[tuple[str, str]]) -> list[str]:
    """The HEALTHCHECK command in exec form."""
    args = only(final_stage, "HEALTHCHECK")
    command: list[str] = json.loads(args[args.index("CMD ") + 4 :])
    return command


@pytest.fixture
def metrics_port() -> Iterator[int]:
    """sbwatch's registry served on 127.0.0.1 on a free port."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=Metrics().registry)
    yield int(server.server_port)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_healthcheck_passes_on_a_live_endpoint(
    final_stage: list[tuple[str, str]], metrics_port: int
) -> None:
    """The health check one-liner exits 0 when the metrics endpoint answers."""
    command = healthcheck_command(final_stage)
    assert "python" == command[0]
    code = command[-1].replace(":9464/", f":{metrics_port}/")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=30, check=False
    )
    assert 0 == proc.returncode, proc.stderr


def test_healthcheck_fails_without_endpoint(final_stage: list[tuple[str, str]]) -> None:
    """The health check one-liner exits non-zero when nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = healthcheck_command(final_stage)[-1].replace(":9464/", f":{port}/")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=30, check=False
    )
    assert 0 != proc.returncode


def test_build_context_holds_what_the_image_copies(root: Path) -> None:
    """Every COPY source of the build stage exists and is let through by .dockerignore."""
    steps = instructions(root / "Dockerfile")
    sources = [
        src
        for word, args in steps
        if word == "COPY" and not args.startswith("--from")
        for src in args.split()[:-1]
    ]
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }
    assert ["pyproject.toml", "uv.lock", "README.md", "src"] == sources
    assert all((root / src).exists() and src in allowed for src in sources)
