"""Run the simulator over real HTTP on 127.0.0.1, with IMAP delivery and database proxies."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from sbwatch.core.clock import SystemClock
from sbwatch.core.errors import ConfigError, MailError, PermanentError
from sbwatch.core.log import get_logger
from sbwatch.core.problems import Problem
from sbwatch.sim.app import SIM_TOKEN, TOKEN_PATTERN, TOKEN_RULE, create_app
from sbwatch.sim.dbproxy import DbProxy
from sbwatch.sim.emails import deliver_imap, dns_records
from sbwatch.sim.hardware import SIZES
from sbwatch.sim.world import SimWorld

log = get_logger("sim.serve")
PROJECT_KEYS = ("ref", "tier", "budget", "true_limits_factor", "db_dsn")


@dataclass(frozen=True)
class MailTarget:
    """An IMAP mailbox the simulated provider's emails are appended to."""

    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"


@dataclass(frozen=True)
class SimConfig:
    """What ``sbwatch sim serve`` runs: projects, port, credentials, resize time."""

    projects: tuple[tuple[str, str, float], ...]
    """(ref, tier, budget % left) of each project."""
    port: int = 8787
    token: str = SIM_TOKEN
    service_key: str = "sim-service-key"
    resize_seconds: float = 120.0
    seed: int = 0
    mail: MailTarget | None = None
    db_target: tuple[str, int] | None = None
    query_dsns: tuple[tuple[str, str], ...] = ()
    """(ref, DSN): the local database each project's SQL endpoint runs queries on."""
    true_limits: dict[str, float] | None = None
    """Per ref, how far the real disk limits lie above the machine table (default 1.0)."""
    metrics_update_s: float = 60.0
    """How often the metrics endpoints update, like the provider's (0: every change at once)."""


def load_sim_config(path: Path) -> SimConfig:
    """Read a sim.toml; raise ConfigError listing every problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([Problem(str(path), str(exc))]) from None
    problems: list[Problem] = []
    allowed = {
        "port",
        "token",
        "service_key",
        "resize_seconds",
        "seed",
        "metrics_update_s",
        "projects",
        "mail",
        "db",
    }
    problems += [Problem(key, "unknown key") for key in data if key not in allowed]
    projects = []
    query_dsns: list[tuple[str, str]] = []
    true_limits: dict[str, float] = {}
    for index, item in enumerate(data.get("projects", [])):
        where = f"projects[{index}]"
        problems += [
            Problem(f"{where}.{key}", "unknown key") for key in item if key not in PROJECT_KEYS
        ]
        ref = str(item.get("ref", ""))
        if len(ref) != 20 or not ref.isalpha() or not ref.islower():
            problems.append(Problem(f"{where}.ref", "must be 20 lowercase letters"))
        tier = item.get("tier", "micro")
        if tier not in SIZES:
            problems.append(Problem(f"{where}.tier", f"unknown tier {tier!r}"))
            tier = "micro"
        factor = item.get("true_limits_factor", 1.0)
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not 1 <= factor <= 10:
            problems.append(Problem(f"{where}.true_limits_factor", "must be a number from 1 to 10"))
            factor = 1.0
        true_limits[ref] = float(factor)
        projects.append((ref, str(tier), float(item.get("budget", 100))))
        if "db_dsn" in item:
            query_dsns.append((ref, str(item["db_dsn"])))
    if not projects:
        problems.append(Problem("projects", "at least one [[projects]] table is required"))
    token = str(data.get("token", SIM_TOKEN))
    if not TOKEN_PATTERN.fullmatch(token):
        problems.append(Problem("token", f"must be {TOKEN_RULE}"))
    update = data.get("metrics_update_s", 60)
    if isinstance(update, bool) or not isinstance(update, int | float) or not 0 <= update <= 3600:
        problems.append(Problem("metrics_update_s", "must be a number of seconds from 0 to 3600"))
        update = 60
    mail = MailTarget(**data["mail"]) if "mail" in data else None
    db_target = None
    if "db" in data:
        host, _, port = str(data["db"].get("target", "127.0.0.1:5432")).rpartition(":")
        db_target = (host or "127.0.0.1", int(port))
    if problems:
        raise ConfigError(problems)
    return SimConfig(
        projects=tuple(projects),
        port=int(data.get("port", 8787)),
        token=token,
        service_key=str(data.get("service_key", "sim-service-key")),
        resize_seconds=float(data.get("resize_seconds", 120)),
        seed=int(data.get("seed", 0)),
        mail=mail,
        db_target=db_target,
        query_dsns=tuple(query_dsns),
        true_limits=true_limits,
        metrics_update_s=float(update),
    )


def settings_snippet(config: SimConfig, port: int, db_ports: dict[str, int] | None = None) -> str:
    """The sbwatch configuration that points at this simulator."""
    base = f"http://127.0.0.1:{port}"
    lines = [
        f'mgmt_api_url = "{base}"',
        f'mgmt_token = "{config.token}"',
        "",
        "[status_page]",
        f'url = "{base}/status"',
    ]
    for ref, tier, _ in config.projects:
        lines += [
            "",
            "[[projects]]",
            f'ref = "{ref}"',
            f'tier = "{tier}"',
            f'url = "{base}/p/{ref}"',
        ]
        lines.append(f'service_key = "{config.service_key}"')
        if db_ports and ref in db_ports:
            lines.append(f'db_dsn = "postgresql://postgres@127.0.0.1:{db_ports[ref]}/postgres"')
        else:
            lines.append(
                "# no [db] target in sim.toml: the local server, not steered by the simulator"
            )
            lines.append('db_dsn = "postgresql://postgres@127.0.0.1:5432/postgres"')
    if config.mail is not None:
        lines += ["", *mail_snippet(config.mail)]
    return "\n".join(lines) + "\n"


def mail_snippet(target: MailTarget) -> list[str]:
    """The ``[mail]`` of a daemon reading the mailbox this simulator fills: it pins the
    simulated provider's DKIM key, which no real DNS publishes."""
    pinned = ", ".join(f'"{name}" = "{value}"' for name, value in dns_records().items())
    return [
        "[mail]",
        "enabled = true",
        f'host = "{target.host}"',
        f"port = {target.port}",
        'security = "plain"',
        f'username = "{target.user}"',
        f'password = "{target.password}"',
        f'mailbox = "{target.mailbox}"',
        f"dkim_keys = {{ {pinned} }}",
    ]


def build_world(config: SimConfig) -> SimWorld:
    """A live world on the system clock with the configured projects."""
    world = SimWorld(
        SystemClock(),
        resize_seconds=config.resize_seconds,
        seed=config.seed,
        metrics_update_s=config.metrics_update_s,
    )
    factors = config.true_limits or {}
    for ref, tier, budget in config.projects:
        world.add_project(ref, tier, budget, true_limits_factor=factors.get(ref, 1.0))
    return world


async def _follow(world: SimWorld, config: SimConfig, proxies: dict[str, DbProxy]) -> None:
    """Deliver new emails by IMAP and keep every database proxy in step with the world."""
    sent = 0
    while True:
        for ref, proxy in proxies.items():
            world.sync(ref)
            proxy.set_mode(world.db_mode(ref))
            proxy.set_delay(world.db_delay(ref))
        while config.mail is not None and sent < len(world.emails):
            target = config.mail
            try:
                await deliver_imap(
                    world.emails[sent],
                    target.host,
                    target.port,
                    target.user,
                    target.password,
                    target.mailbox,
                )
            except MailError as exc:
                log.warning("email delivery failed", error=str(exc))
                break
            sent += 1
        await asyncio.sleep(0.5)


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Wait (10 s at most) until uvicorn listens."""
    async with asyncio.timeout(10):
        while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.05)


async def serve(
    config: SimConfig,
    *,
    ready: Callable[[int, str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or forever); ``ready(port, snippet)`` once listening."""
    world = build_world(config)
    app = create_app(
        world,
        token=config.token,
        service_key=config.service_key,
        query_dsns=dict(config.query_dsns),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", config.port))
    except OSError as exc:
        sock.close()
        raise PermanentError(
            f"cannot listen on 127.0.0.1:{config.port} ({exc.strerror}); another simulator? "
            "Set another port in sim.toml (port = 0 takes a free one)"
        ) from None
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    proxies: dict[str, DbProxy] = {}
    db_ports: dict[str, int] = {}
    try:
        if config.db_target is not None:
            for ref, _, _ in config.projects:
                proxies[ref] = DbProxy(*config.db_target)
                db_ports[ref] = await proxies[ref].start()
        async with asyncio.TaskGroup() as group:
            serving = group.create_task(server.serve(sockets=[sock]))
            follower = group.create_task(_follow(world, config, proxies))
            await _started(server, serving)
            if ready is not None:
                ready(port, settings_snippet(config, port, db_ports))
            await (stop.wait() if stop is not None else asyncio.Event().wait())
            server.should_exit = True
            await serving
            follower.cancel()
    finally:
        for proxy in proxies.values():
            await proxy.stop()
        with contextlib.suppress(OSError):
            sock.close()
