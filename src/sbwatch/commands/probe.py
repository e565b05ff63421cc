"""``sbwatch probe REF KIND``: run one probe once against a configured project and print it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any

import httpx

from sbwatch.commands import HELPS
from sbwatch.commands.common import project_or_exit, settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core import log as logging_setup
from sbwatch.core.clock import SystemClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import IoSample, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY, build_probe, timeout_for
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.runner import run_probe
from sbwatch.store.codec import check_to_doc

NAME = "probe"
HELP = HELPS[NAME]
GRACE_S = 1.0
"""The runner's deadline is the probe's timeout plus this, so the probe reports its own detail."""


def configure(parser: argparse.ArgumentParser) -> None:
    """REF, KIND and --json."""
    parser.add_argument("ref", metavar="REF", help="project ref, as in the configuration")
    parser.add_argument(
        "kind",
        metavar="KIND",
        choices=[kind.value for kind in ProbeKind],
        help="probe kind: " + ", ".join(kind.value for kind in ProbeKind),
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Load the configuration, run the probe once, print the result."""
    settings = settings_or_exit(args)
    kind = ProbeKind(args.kind)
    project = project_or_exit(settings, args.ref)
    if kind not in REGISTRY:
        print(f"no probe registered for {kind}", file=sys.stderr)
        return 2
    logging_setup.configure(settings.log_level, settings.log_format, stream=sys.stderr)
    result = asyncio.run(_probe_once(settings, project.ref, kind))
    print(json.dumps(result_to_dict(result)) if args.json else _line(result))
    return 0 if result.ok else 1


async def _probe_once(settings: Settings, ref: str, kind: ProbeKind) -> ProbeResult:
    clock = SystemClock()
    async with httpx.AsyncClient() as http:
        ctx = ProbeContext(settings, settings.project(ref), http, clock)
        probe = build_probe(kind, ctx)
        try:
            return await run_probe(
                probe,
                project=ref,
                timeout_s=timeout_for(ctx, kind) + GRACE_S,
                clock=clock,
                metrics=Metrics(),
                log=logging_setup.get_logger("probe"),
            )
        finally:
            await probe.aclose()


def result_to_dict(result: ProbeResult) -> dict[str, Any]:
    """A ProbeResult as a JSON-ready dict (ISO time)."""
    return {
        "project": result.project,
        "probe": str(result.probe),
        "outcome": str(result.outcome),
        "at": result.at.isoformat(),
        "duration_s": round(result.duration_s, 6),
        "detail": result.detail,
        "status_code": result.status_code,
        "data": result.data,
        "sample": None if result.sample is None else _sample_doc(result.sample),
        "skipped_lines": result.skipped_lines,
        "checks": [check_to_doc(check) for check in result.checks],
    }


def _sample_doc(sample: IoSample) -> dict[str, Any]:
    doc = asdict(sample)
    doc["at"] = sample.at.isoformat()
    return doc


def _line(result: ProbeResult) -> str:
    parts = [result.project, str(result.probe), str(result.outcome), f"{result.duration_s:.3f}s"]
    if result.status_code is not None:
        parts.append(f"HTTP {result.status_code}")
    if result.detail:
        parts.append(result.detail)
    if result.data:
        parts.append(json.dumps(result.data, sort_keys=True))
    lines = ["  ".join(parts)]
    for check in result.checks:
        value = "-" if check.value is None else f"{check.value:g}"
        lines.append(f"  {check.name}  {check.table}  {check.verdict}  {value}  {check.detail}")
    return "\n".join(lines)
