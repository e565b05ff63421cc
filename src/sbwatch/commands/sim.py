"""``sbwatch sim``: the built-in Supabase simulator (serve it, steer it)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from sbwatch.commands import HELPS
from sbwatch.core.errors import ConfigError, SbwatchError
from sbwatch.core.problems import Problem

NAME = "sim"
HELP = HELPS[NAME]
DEFAULT_URL = "http://127.0.0.1:8787"
URL_ENV = "SBWATCH_SIM_URL"
READS = ("stats", "truth")
"""``sim ctl`` kinds that read the simulator's state instead of posting an event."""


def url_file() -> Path:
    """Where ``sim serve`` leaves its URL for ``sim ctl``: the runtime dir, else the cache."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "sbwatch-sim.url"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "sbwatch" / "sim.url"


def ctl_url(given: str | None) -> tuple[str, str]:
    """The simulator ``sim ctl`` talks to, and where that URL came from."""
    if given:
        return given, "--url"
    if os.environ.get(URL_ENV):
        return os.environ[URL_ENV], f"${URL_ENV}"
    path = url_file()
    with contextlib.suppress(OSError):
        written = path.read_text(encoding="utf-8").strip()
        if written:
            return written, str(path)
    return DEFAULT_URL, "the default"


@contextlib.contextmanager
def _url_written(url: str) -> Iterator[Path | None]:
    """Leave ``url`` in :func:`url_file` while serving; remove it after, unless replaced."""
    path = url_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(url + "\n", encoding="utf-8")
    except OSError:
        yield None  # sim ctl then needs --url; serving goes on
        return
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            if path.read_text(encoding="utf-8").strip() == url:
                path.unlink()


def add_serve(sub: Any) -> None:
    """``sbwatch sim serve --config sim.toml``."""
    parser = sub.add_parser(
        "serve",
        help="serve simulated projects over HTTP",
        description="Serve the simulated provider on 127.0.0.1 until interrupted; prints the URLs "
        "and the sbwatch settings that point at it. sim.toml holds port, token, service_key, "
        "resize_seconds, seed, metrics_update_s (how often the metrics endpoints update, 60 as "
        "the provider's; 0: every change at once), [[projects]] (ref, tier, budget = % left, "
        "true_limits_factor = how far the real disk limits lie above the published ones, "
        "default 1.0, db_dsn = a local database the SQL endpoint runs its queries on), "
        "optional [mail] "
        "(host, port, user, password, mailbox) and [db] target = 'host:port' for stall/cut "
        f"database proxies. Its base URL is printed and left in {url_file()} for "
        "'sbwatch sim ctl' (removed when it stops).",
    )
    parser.add_argument(
        "--config", dest="sim_config", type=Path, required=True, help="simulator TOML file"
    )
    parser.set_defaults(_sim_run=_run_serve)


def add_ctl(sub: Any) -> None:
    """``sbwatch sim ctl EVENT-KIND key=value ...``."""
    from sbwatch.sim.scenario import EVENT_KEYS, describe_events

    parser = sub.add_parser(
        "ctl",
        help="send one event to a running simulator",
        description="Post one scenario event to the simulator's control API, for example "
        "'sbwatch sim ctl workload read_mbps=40', 'sbwatch sim ctl service name=rest up=false', "
        "'sbwatch sim ctl mgmt_api fault=rate_limit'. The event is checked as a scenario's "
        "[[events]] table is (every required key, every value) before it is sent. Values are "
        "read as JSON when they parse (numbers, true/false, lists), as text otherwise. "
        "'ctl stats' and 'ctl truth ref=REF' read state.",
        epilog=describe_events(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "kind",
        metavar="EVENT-KIND",
        help=f"{', '.join(EVENT_KEYS)}; or {' / '.join(READS)}",
    )
    parser.add_argument("pairs", nargs="*", metavar="key=value", help="event fields")
    parser.add_argument(
        "--url",
        default=None,
        help=f"simulator base URL (default: ${URL_ENV}, else the URL 'sim serve' left in "
        f"{url_file()}, else {DEFAULT_URL})",
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
    parser.add_argument(
        "--full",
        action="store_true",
        help="send every request through httpx's in-process HTTP transport (slower; the same "
        "report as the default, which calls the simulator's handlers directly)",
    )
    parser.set_defaults(_sim_run=_run_replay)


def add_fuzz(sub: Any) -> None:
    """``sbwatch sim fuzz [--seed N] [--count K] [--days D] [--out DIR]``."""
    parser = sub.add_parser(
        "fuzz",
        help="replay random incidents and check the rules that must always hold",
        description="Generate random scenarios (workloads, patterns, emails genuine and "
        "spoofed, status page states, platform outages, our own network lost, failing "
        "services, Management API faults, paused projects, one or two projects), replay each "
        "and check the invariants: no PATCH without a cause sbwatch can fix, within max_tier "
        "and the cost cap, once per need, never while the budget refills; every alert sent "
        "once and resolved when its cause ends; no exception out of a job. A failing case is "
        "shrunk and written to --out as a scenario file. Exit 0 when every case held, 1 "
        "otherwise.",
    )
    parser.add_argument("--seed", type=int, default=1, help="the campaign's seed (default 1)")
    parser.add_argument("--count", type=int, default=20, help="how many cases (default 20)")
    parser.add_argument(
        "--days", type=float, default=1.0, help="simulated days per case (default 1)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("fuzz-failures"),
        help="where shrunk failing cases are written (default ./fuzz-failures)",
    )
    parser.add_argument(
        "--shrink", type=int, default=60, help="replays spent shrinking each failure (default 60)"
    )
    parser.set_defaults(_sim_run=_run_fuzz)


def add_score(sub: Any) -> None:
    """``sbwatch sim score [--seed N] [--count K] [--days D] [--json] [--out DIR]``."""
    parser = sub.add_parser(
        "score",
        help="replay random incidents and score every message and PATCH against the truth",
        description="Generate random incidents as operators meet them (steady, day/night and "
        "weekly loads, spikes, bursts, IOPS-only loads, true limits above the published ones, "
        "services failing on their own, platform outages, our own network lost, Management "
        "API faults, caps that stop the next step, ask and auto modes, genuine and spoofed "
        "emails, several projects), replay each and judge what reached the phone and what was "
        "PATCHed against the simulator's ground truth: missed and late warnings, wasted and "
        "late PATCHes, false pages, warnings and resolves, pages per incident, silent "
        "failures. With --out, the first case breaking each rule is shrunk and written there "
        "as a scenario file. Exit 0 when every case passed every rule, 1 otherwise.",
    )
    parser.add_argument("--seed", type=int, default=1, help="the campaign's seed (default 1)")
    parser.add_argument("--count", type=int, default=100, help="how many cases (default 100)")
    parser.add_argument(
        "--days", type=float, default=1.0, help="simulated days per case (default 1)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="cases replayed at once, one process each (default: 2, or 1 on one core)",
    )
    parser.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    parser.add_argument(
        "--out", type=Path, default=None, help="write shrunk failing cases here (default: none)"
    )
    parser.add_argument(
        "--shrink", type=int, default=40, help="replays spent shrinking each rule's case"
    )
    parser.set_defaults(_sim_run=_run_score)


SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (
    add_serve,
    add_ctl,
    add_replay,
    add_fuzz,
    add_score,
)
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
    from sbwatch.sim.serve import load_sim_config

    try:
        config = load_sim_config(args.sim_config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1

    with contextlib.ExitStack() as stack:

        def ready(port: int, snippet: str) -> None:
            base = f"http://127.0.0.1:{port}"
            written = stack.enter_context(_url_written(base))
            print(f"Management API: {base}/v1/projects/<ref>")
            print(
                "                (it accepts only its token, which has the real format:"
                " sbp_ and 40 hex digits)"
            )
            print(f"Status page:    {base}/status/api/v2/summary.json")
            print(f"Control API:    {base}/_sim/events, {base}/_sim/truth/<ref>, {base}/_sim/stats")
            for ref, _, _ in config.projects:
                print(f"Project {ref}: {base}/p/{ref}/rest/v1/")
            print(f"\nSteer it:       sbwatch sim ctl --url {base} KIND key=value ...")
            if written is not None:
                print(
                    f"                (the URL is in {written}: 'sbwatch sim ctl' finds it there)"
                )
            print("\n# sbwatch settings for this simulator\n" + snippet, flush=True)

        try:
            asyncio.run(_serve_until_stopped(config, ready))
        except SbwatchError as exc:
            print(f"sim serve: {exc}", file=sys.stderr)
            return 1
    return 0


async def _serve_until_stopped(config: Any, ready: Callable[[int, str], None]) -> None:
    """Serve until SIGTERM or SIGINT, then stop cleanly (the URL file is removed after)."""
    from sbwatch.sim.serve import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(config, ready=ready, stop=stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


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


def checked_event(kind: str, pairs: list[str]) -> dict[str, Any]:
    """The event ``sim ctl KIND PAIRS`` sends; ConfigError listing every problem otherwise."""
    from sbwatch.sim.scenario import check_event

    try:
        event = parse_pairs(kind, pairs)
    except ValueError as exc:
        raise ConfigError([Problem("", str(exc))]) from None
    if kind == "stats":
        return event
    if kind == "truth":
        if not isinstance(event.get("ref"), str) or set(event) != {"kind", "ref"}:
            raise ConfigError([Problem("truth", "write 'sbwatch sim ctl truth ref=REF'")])
        return event
    return check_event(event)


def _run_ctl(args: argparse.Namespace) -> int:
    try:
        event = checked_event(args.kind, args.pairs)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"sim ctl: {problem}", file=sys.stderr)
        return 2
    url, source = ctl_url(args.url)
    base = url.rstrip("/")
    try:
        with httpx.Client(timeout=10.0) as client:
            if args.kind == "stats":
                response = client.get(f"{base}/_sim/stats")
            elif args.kind == "truth":
                response = client.get(f"{base}/_sim/truth/{event['ref']}")
            else:
                response = client.post(f"{base}/_sim/events", json=event)
    except httpx.HTTPError as exc:
        print(
            f"sim ctl: no simulator answers at {base} (URL from {source}; {type(exc).__name__}): "
            "start one with 'sbwatch sim serve --config sim.toml'",
            file=sys.stderr,
        )
        return 1
    return _show_answer(base, response)


def _show_answer(base: str, response: httpx.Response) -> int:
    """Print the simulator's JSON answer; a refusal or a non-simulator is one line on stderr."""
    try:
        body = response.json()
    except ValueError:
        print(
            f"sim ctl: {base} answered HTTP {response.status_code} without JSON: "
            "is it the simulator?",
            file=sys.stderr,
        )
        return 1
    if not response.is_success:
        error = body.get("error") if isinstance(body, dict) else None
        print(f"sim ctl: the simulator refused: {error or response.status_code}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2))
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    from sbwatch.core import log
    from sbwatch.sim.replay import replay
    from sbwatch.sim.report import incident_lines, render_html
    from sbwatch.sim.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    log.configure("error", "console", sys.stderr)
    printer = None if args.json else print
    report = asyncio.run(replay(scenario, print_line=printer, fast=not args.full))
    if args.report is not None:
        args.report.write_text(render_html(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report, default=str))
    else:
        for check in report["checks"]:
            print(f"[{'ok' if check['passed'] else 'FAILED'}] {check['name']}: {check['detail']}")
        print("\n".join(incident_lines(report)))
    return 0 if report["passed"] else 1


def _run_fuzz(args: argparse.Namespace) -> int:
    from sbwatch.core import log
    from sbwatch.sim.fuzz import campaign

    if args.count < 1 or args.days <= 0 or args.shrink < 0:
        print("sim fuzz: --count and --days must be positive, --shrink >= 0", file=sys.stderr)
        return 2
    log.configure("error", "console", sys.stderr)
    found = campaign(
        args.seed, args.count, args.days, out_dir=args.out, say=print, shrink_budget=args.shrink
    )
    print(
        f"{found.cases} cases in {found.seconds:.1f}s ({found.per_second:.2f} cases/s), "
        f"{len(found.failures)} broke an invariant"
    )
    for outcome, _, path in found.failures:
        print(f"  {', '.join(sorted(outcome.names))}: {path}")
    return 1 if found.failures else 0


def _run_score(args: argparse.Namespace) -> int:
    from sbwatch.core import log
    from sbwatch.sim.scorecard import campaign

    if args.count < 1 or args.days <= 0 or args.jobs < 1 or args.shrink < 0:
        print(
            "sim score: --count, --days and --jobs must be positive, --shrink >= 0",
            file=sys.stderr,
        )
        return 2
    log.configure("error", "console", sys.stderr)
    say = None if args.json else print
    card = campaign(
        args.seed,
        args.count,
        args.days,
        jobs=args.jobs,
        out_dir=args.out,
        shrink_budget=args.shrink,
        say=say,
    )
    if args.json:
        print(json.dumps(card.as_dict(), indent=2))
    else:
        print(card.table())
    return 1 if any(r.broken for r in card.results) else 0
