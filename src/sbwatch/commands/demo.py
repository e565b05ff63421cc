"""``sbwatch demo``: replay the May 26 incident on the built-in simulator."""

from __future__ import annotations

import argparse
import asyncio
from importlib import resources
from pathlib import Path
from typing import Any

from sbwatch.commands import HELPS
from sbwatch.core import log
from sbwatch.core.durations import format_duration

NAME = "demo"
HELP = HELPS[NAME]
SCENARIO = "may26-io-exhaustion.toml"


def configure(parser: argparse.ArgumentParser) -> None:
    """``--report`` names the HTML file."""
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("sbwatch-demo.html"),
        help="where to write the HTML report (default: sbwatch-demo.html)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


def run(args: argparse.Namespace) -> int:
    """Replay, print, write the report; exit 0 when every expectation of the scenario held."""
    from sbwatch.sim.replay import replay
    from sbwatch.sim.report import incident_lines, render_html
    from sbwatch.sim.scenario import parse_scenario

    log.configure("error", "console")
    text = resources.files("sbwatch.sim.scenarios").joinpath(SCENARIO).read_text(encoding="utf-8")
    scenario = parse_scenario(text, source=SCENARIO)
    printer = None if args.quiet else print
    print(f"Replaying {scenario.name}: 6 days of a Supabase project on micro, in seconds.\n")
    report = asyncio.run(replay(scenario, print_line=printer))
    args.report.write_text(render_html(report), encoding="utf-8")
    print()
    for check in report["checks"]:
        print(f"  [{'ok' if check['passed'] else 'FAILED'}] {check['name']}: {check['detail']}")
    print("\n" + "\n".join(incident_lines(report)))
    print(f"\n{summary(report)}")
    print(f"Report: {args.report}")
    return 0 if report["passed"] else 1


def summary(report: dict[str, Any]) -> str:
    """One line: what happened in May, and what sbwatch did instead."""
    first = report["alerts"][0]["at_s"] if report["alerts"] else None
    applied = [e for e in report["escalations"] if e["outcome"] in ("applied", "recovered")]
    did = []
    if first is not None:
        did.append(f"warned after {format_duration(first)}")
    if applied:
        e = applied[0]
        did.append(f"raised {e['from']} -> {e['to']} at {format_duration(e['at_s'])}")
    did.append(f"{format_duration(report['downtime_s'])} of downtime (the resize)")
    return (
        "In May the IO budget ran out unseen, a warning email sat unread for six days and the "
        "team blamed the platform; here sbwatch " + ", ".join(did) + "."
    )
