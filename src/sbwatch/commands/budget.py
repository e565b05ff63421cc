"""``sbwatch budget``: the estimated disk IO budget per project; ``budget set`` corrects it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from sbwatch.alerting.words import assumed_line
from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration
from sbwatch.core.results import BudgetEstimate, IoSample
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.budget import estimate_to_dict
from sbwatch.store import open_store
from sbwatch.store.base import Store
from sbwatch.watch.state import Correction, correction_slot, estimator_slot

NAME = "budget"
HELP = HELPS[NAME]
EPILOG = """\
examples:
  sbwatch budget                         every configured project
  sbwatch budget abcdefghijklmnopqrst --json
  sbwatch budget set abcdefghijklmnopqrst 37.5
"""
SAMPLE_LOOKBACK = timedelta(hours=6)


def configure(parser: argparse.ArgumentParser) -> None:
    """``[REF] [--json]`` or ``set REF PCT``."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "words",
        nargs="*",
        metavar="REF | set REF PCT",
        help="a project ref to show (default: all), or 'set REF PCT' to record a reading",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Show estimates or record a correction."""
    settings = settings_or_exit(args, watching=False)
    words: list[str] = args.words
    if words and words[0] == "set":
        if len(words) != 3:
            print("usage: sbwatch budget set REF PCT", file=sys.stderr)
            return 2
        return _set(settings, words[1], words[2])
    if len(words) > 1:
        print("usage: sbwatch budget [REF] [--json]", file=sys.stderr)
        return 2
    projects = _select(settings, words[0] if words else None)
    if projects is None:
        return 2
    return asyncio.run(_show(settings, projects, args.json))


def _select(settings: Settings, ref: str | None) -> list[ProjectSettings] | None:
    if ref is None:
        return list(settings.projects)
    try:
        return [settings.project(ref)]
    except KeyError as exc:
        print(str(exc.args[0]), file=sys.stderr)
        return None


def _set(settings: Settings, word: str, pct_text: str) -> int:
    try:
        ref = settings.project(word).ref
        pct = float(pct_text.rstrip("%"))
    except KeyError as exc:
        print(str(exc.args[0]), file=sys.stderr)
        return 2
    except ValueError:
        print(f"not a percentage: {pct_text!r}", file=sys.stderr)
        return 2
    if not 0.0 <= pct <= 100.0:
        print("PCT must be between 0 and 100 (the dashboard's '% consumed')", file=sys.stderr)
        return 2
    asyncio.run(_put(settings, ref, Correction(pct, SystemClock().now())))
    print(f"{ref}: recorded {pct:g}% consumed; the daemon applies it on its next cycle")
    return 0


async def _put(settings: Settings, ref: str, correction: Correction) -> None:
    store = await open_store(settings.state)
    try:
        await correction_slot(ref).write(store, correction)
    finally:
        await store.close()


async def _show(settings: Settings, projects: list[ProjectSettings], as_json: bool) -> int:
    now = SystemClock().now()
    store = await open_store(settings.state, create=False)
    try:
        rows = [await _row(store, project, now) for project in projects]
    finally:
        await store.close()
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(_text(row))
    return 0


async def _row(store: Store, project: ProjectSettings, now: datetime) -> dict[str, Any]:
    estimate = await store.latest_budget(project.ref)
    samples = await store.io_samples(project.ref, now - SAMPLE_LOOKBACK)
    try:
        pending = _pending(await correction_slot(project.ref).read(store))
    except ValueError as exc:  # written by hand, or by something else
        pending = {"error": str(exc)}
    try:
        saved = await estimator_slot(project.ref).read(store)
    except (KeyError, TypeError, ValueError):  # written by something else: nothing learned
        saved = None
    return {
        "learned_baseline_mbps": {} if saved is None else dict(saved.learned),
        "project": project.ref,
        "name": project.display_name,
        "tier": str(estimate.tier) if estimate else (str(project.tier) if project.tier else None),
        "estimate": _estimate_json(estimate),
        "latest_sample_at": _latest(samples),
        "pending_correction": pending,
    }


def _estimate_json(estimate: BudgetEstimate | None) -> dict[str, Any] | None:
    if estimate is None:
        return None
    out = estimate_to_dict(estimate)
    out["left_pct"] = round(estimate.ratio * 100, 2)
    out["consumed_pct"] = round((1 - estimate.ratio) * 100, 2)
    return out


def _latest(samples: list[IoSample]) -> str | None:
    return samples[-1].at.isoformat() if samples else None


def _pending(correction: Correction | None) -> dict[str, Any] | None:
    if correction is None:
        return None
    return {"consumed_pct": correction.consumed_pct, "at": correction.at.isoformat()}


def _text(row: dict[str, Any]) -> str:
    head = f"{row['name']} ({row['project']})  tier {row['tier'] or 'unknown'}"
    est = row["estimate"]
    lines = [head]
    if est is None:
        lines.append("  no estimate yet (is the daemon running with the metrics probe?)")
    else:
        eta = (
            "not draining"
            if est["eta_s"] is None
            else f"exhausted in {format_duration(est['eta_s'])}"
        )
        lines += [
            f"  budget      {est['left_pct']:.1f}% left ({est['consumed_pct']:.1f}% consumed)"
            f"  confidence {est['confidence']:.2f}",
            f"  burn        {est['burn_mbps']:+.2f} MB/s net   {eta}",
            f"  throughput  {est['throughput_mbps']:.1f} MB/s, {est['iops']:.0f} IOPS",
            f"  estimated   {est['at']}   latest sample {row['latest_sample_at'] or 'none'}",
        ]
        if est.get("assumed"):
            lines.append(f"  level       {assumed_line(row['project'])}")
    for size, mbps in row["learned_baseline_mbps"].items():
        published = spec(Tier(size)).baseline_mbps
        lines.append(
            f"  learned     {size} really holds {mbps:.1f} MB/s once throttled (published "
            f"{published:g}): seen flat there with the budget used up; the estimate uses it"
        )
    pending = row["pending_correction"]
    if pending is not None:
        lines.append(f"  pending correction {pending} (applied on the daemon's next cycle)")
    return "\n".join(lines)
