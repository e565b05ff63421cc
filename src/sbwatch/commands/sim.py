"""``sbwatch sim``: the built-in Supabase simulator (serve it, steer it)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sbwatch.core.errors import ConfigError

NAME = "sim"
HELP = (
    "Run the built-in Supabase simulator on 127.0.0.1 (Management API, project endpoints, "
    "metrics, status page, provider emails) and inject faults into it."
)
DEFAULT_URL = "http://127.0.0.1:8787"


def add_serve(sub: Any) -> None:
    """``sbwatch sim serve --config sim.toml``."""
    parser = sub.add_parser(
        "serve",
        help="serve simulated projects over HTTP",
        description="Serve the simulated provider on 127.0.0.1 until interrupted; prints the URLs "
        "and the sbwatch settings that point at it. sim.toml holds port, token, service_key, "
        "resize_seconds, seed, [[projects]] (ref, tier, budget = % left), optional [mail] "
        "(host, port, user, password, mailbox) and [db] target = 'host:port' for stall/cut "
        "database proxies.",
    )
    parser.add_argument(
        "--config", dest="sim_config", type=Path, required=True, help="simulator TOML file"
    )
    parser.set_defaults(_sim_run=_run_serve)


def add_ctl(sub: Any) -> None:
    """``sbwatch sim ctl EVENT-KIND key=value ...``."""
    parser = sub.add_parser(
        "ctl",
        help="send one event to a running simulator",
        description="Post one scenario event to the simulator's control API, for example "
        "'sbwatch sim ctl workload read_mbps=40', 'sbwatch sim ctl service name=rest up=false', "
        "'sbwatch sim ctl mgmt_api fault=rate_limit'. Values are read as JSON when they parse "
        "(numbers, true/false), as text otherwise. 'ctl stats' and 'ctl truth ref=REF' read state.",
    )
    parser.add_argument(
        "kind",
        metavar="EVENT-KIND",
        help="workload, email, status_page, platform_outage, "
        "network, service, mgmt_api, project; or stats / truth",
    )
    parser.add_argument("pairs", nargs="*", metavar="key=value", help="event fields")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"simulator base URL (default {DEFAULT_URL})"
    )
    parser.set_defaults(_sim_run=_run_ctl)


def add_replay(sub: Any) -> None:
    """``sbwatch sim replay FILE.toml [--json] [--report out.html]``."""
    parser = sub.add_parser(
        "replay",
        help="replay a scenario on a virtual clock and check its expectations",
        description="Replay a scenario TOML (format in the README) against the simulator with "
        "sbwatch's real probes, store, budget estimator, diagnosis and policies on a virtual "
        "clock. Exit 0 when every [expect] holds, 1 when one does not, 2 for an invalid scenario.",
    )
    parser.add_argument("scenario", type=Path, help="scenario TOML file")
    parser.add_argument("--json", action="store_true", help="print the JSON report only")
    parser.add_argument("--report", type=Path, help="also write the HTML report here")
    parser.set_defaults(_sim_run=_run_replay)


SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (add_serve, add_ctl, add_replay)
"""One function per ``sbwatch sim`` subcommand; each adds its parser and sets ``_sim_run``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sim sub-subcommands."""
    sub = parser.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)
    for add in SUBCOMMANDS:
        add(sub)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen sub-subcommand."""
    handler: Callable[[argparse.Namespace], int] = args._sim_run
    return handler(args)


def _run_serve(args: argparse.Namespace) -> int:
    from sbwatch.sim.serve import load_sim_config, serve

    try:
        config = load_sim_config(args.sim_config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1

    def ready(port: int, snippet: str) -> None:
        base = f"http://127.0.0.1:{port}"
        print(f"Management API: {base}/v1/projects/<ref>")
        print(f"Status page:    {base}/status/api/v2/summary.json")
        print(f"Control API:    {base}/_sim/events, {base}/_sim/truth/<ref>, {base}/_sim/stats")
        for ref, _, _ in config.projects:
            print(f"Project {ref}: {base}/p/{ref}/rest/v1/")
        print("\n# sbwatch settings for this simulator\n" + snippet, flush=True)

    asyncio.run(serve(config, ready=ready))
    return 0


def parse_pairs(kind: str, pairs: list[str]) -> dict[str, Any]:
    """``["read_mbps=40", "spoofed=true"]`` -> ``{"kind": k, "read_mbps": 40, "spoofed": True}``."""
    event: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r}: write key=value")
        try:
            event[key] = json.loads(raw)
        except ValueError:
            event[key] = raw
    return event


def _run_ctl(args: argparse.Namespace) -> int:
    try:
        event = parse_pairs(args.kind, args.pairs)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    base = args.url.rstrip("/")
    try:
        with httpx.Client(timeout=10.0) as client:
            if args.kind == "stats":
                response = client.get(f"{base}/_sim/stats")
            elif args.kind == "truth":
                response = client.get(f"{base}/_sim/truth/{event.get('ref', '')}")
            else:
                response = client.post(f"{base}/_sim/events", json=event)
    except httpx.HTTPError as exc:
        print(f"simulator at {base} unreachable: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0 if response.is_success else 1


def _run_replay(args: argparse.Namespace) -> int:
    from sbwatch.core import log
    from sbwatch.sim.replay import replay
    from sbwatch.sim.report import render_html
    from sbwatch.sim.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    log.configure("error", "console", sys.stderr)
    report = asyncio.run(replay(scenario, print_line=None if args.json else print))
    if args.report is not None:
        args.report.write_text(render_html(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report, default=str))
    else:
        for check in report["checks"]:
            print(f"[{'ok' if check['passed'] else 'FAILED'}] {check['name']}: {check['detail']}")
    return 0 if report["passed"] else 1
