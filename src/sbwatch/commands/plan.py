"""``sbwatch plan``: which compute size the recorded disk IO, connections and memory needed,
which of them decided it, and what it costs."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sbwatch.alerting.words import limits_words, need_name, need_reading
from sbwatch.commands import HELPS
from sbwatch.commands.common import project_or_exit, settings_or_exit
from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.durations import format_duration
from sbwatch.core.errors import ApiError
from sbwatch.core.tiers import Tier, spec, tier_for_variant
from sbwatch.policy.plan import DEFAULT_FLOOR, Plan, plan
from sbwatch.store import open_store
from sbwatch.store.base import BudgetStore

NAME = "plan"
HELP = HELPS[NAME]
ENOUGH_HISTORY_S = 86_400.0
"""Less than a day of recorded IO has not seen the day's busy hours: the verdict is a guess."""
Prices = dict[Tier, float]


def configure(parser: argparse.ArgumentParser) -> None:
    """REF, --days, --floor and --json."""
    parser.add_argument("ref", nargs="?", metavar="REF", help="project ref (default: every one)")
    parser.add_argument("--days", type=float, default=14.0, help="history to replay (days)")
    parser.add_argument(
        "--floor",
        type=float,
        default=DEFAULT_FLOOR,
        help=f"lowest budget share a size may reach and still count as holding ({DEFAULT_FLOOR})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(args: argparse.Namespace) -> int:
    """Print the plan of each project; 0, or 1 when a project has no recorded history."""
    settings = settings_or_exit(args, watching=False)
    return asyncio.run(_main(settings, args))


async def _main(settings: Settings, args: argparse.Namespace) -> int:
    projects = [project_or_exit(settings, args.ref)] if args.ref else list(settings.projects)
    store = await open_store(settings.state, create=False)
    try:
        prices = {p.ref: await listed_prices(settings, p) for p in projects}
        plans = [
            (p, await plan_of(store, p, args.days, args.floor, prices[p.ref])) for p in projects
        ]
    finally:
        await store.close()
    if args.json:
        print(json.dumps([plan_doc(p, made) for p, made in plans], indent=2))
    else:
        print("\n\n".join(render(p, made, args.floor, prices[p.ref]) for p, made in plans))
    return 0 if all(made.observed_s > 0 for _, made in plans) else 1


async def listed_prices(settings: Settings, project: ProjectSettings) -> Prices | None:
    """The provider's monthly prices of each size, as ``escalate`` reads them (the add-ons
    listing); None without a token or an answer, and the tier table's are used."""
    token = settings.token_for(project)
    if token is None:
        return None
    import httpx  # only when there is an API to ask

    from sbwatch.supabase.mgmt_api import ManagementApi

    async with httpx.AsyncClient() as http:
        api = ManagementApi(http, settings.mgmt_api_url, token, clock=SystemClock())
        try:
            addons = await api.get_addons(project.ref)
        except ApiError:
            return None
    listed = ((tier_for_variant(v), usd) for v, usd in addons.monthly_prices.items())
    return {tier: usd for tier, usd in listed if tier is not None}


async def plan_of(
    store: BudgetStore,
    project: ProjectSettings,
    days: float,
    floor: float,
    prices: Prices | None = None,
) -> Plan:
    """The plan of one project from the samples its store holds, each size starting at the
    budget level the project had when they begin (full when no estimate is that old)."""
    since = datetime.now(UTC) - timedelta(days=days)
    samples = await store.io_samples(project.ref, since)
    latest = await store.latest_budget(project.ref)
    current = latest.tier if latest is not None else (project.tier or Tier.MICRO)
    history = await store.budget_history(project.ref, since)
    first = samples[0].at if samples else None
    known = [e for e in history if first is not None and e.at <= first + timedelta(minutes=15)]
    start = known[-1].ratio if known else 1.0
    sustain = project.memory.sustain
    return plan(samples, current, floor=floor, prices=prices, start=start, memory_sustain=sustain)


def plan_doc(project: ProjectSettings, made: Plan) -> dict[str, Any]:
    """One project's plan as JSON-ready data."""
    return {
        "ref": project.ref,
        "observed_s": made.observed_s,
        "enough_history": made.observed_s >= ENOUGH_HISTORY_S,
        "pick": None if made.pick is None else made.pick.value,
        "decided_by": [need_name(limit) for limit in made.decided_by],
        "downgrade": None if made.downgrade is None else made.downgrade.value,
        "needs": [
            {
                "limit": need_name(n.limit),
                "size": None if n.smallest is None else n.smallest.value,
                "known": n.known,
                "reading": need_reading(n.reading),
            }
            for n in made.needs
        ],
        "sizes": [
            {
                "tier": s.tier.value,
                "lowest_ratio": round(s.lowest_ratio, 4),
                "throttled_s": s.throttled_s,
                "monthly_usd": s.monthly_usd,
            }
            for s in made.sizes
        ],
    }


def render(project: ProjectSettings, made: Plan, floor: float, prices: Prices | None = None) -> str:
    """A table per size and the verdict, with how much history it rests on."""
    head = f"{project.display_name} ({project.ref}): "
    if made.observed_s <= 0:
        return head + "no disk IO recorded yet (the daemon records it from the metrics probe)"
    source = "the provider's listed prices" if prices else "list prices (no add-ons listing)"
    lines = [
        head + f"{format_duration(made.observed_s)} of recorded disk IO, replayed per size; "
        f"{source}"
    ]
    lines.append(f"  {'size':<7} {'lowest':>7} {'throttled':>10} {'$/month':>8}")
    for s in made.sizes:
        throttled = format_duration(s.throttled_s) if s.throttled_s else "-"
        usd = f"{s.monthly_usd:>8.2f}" if spec(s.tier).variant is not None else "free plan only"
        lines.append(f"  {s.tier.value:<7} {s.lowest_ratio:>7.0%} {throttled:>10} {usd:>8}")
    thin = made.observed_s < ENOUGH_HISTORY_S
    if thin:
        lines.append(
            f"  only {format_duration(made.observed_s)} of history, less than a day: the busy "
            "hours may not be in it, so no size is named yet"
        )
    else:
        lines += need_lines(made)
    if made.downgrade is not None and not thin:
        lines.append(
            f"  {made.downgrade} would have held too: a smaller size is possible (sbwatch never "
            "downsizes by itself)"
        )
    return "\n".join(lines)


def need_lines(made: Plan) -> list[str]:
    """Each limit's own smallest size with its reading, then the size that holds them all and
    which limit decided it."""
    lines = ["  what each limit needs (the smallest size that holds it):"]
    for need in made.needs:
        size = "-" if not need.known else (need.smallest or "none")
        note = "" if need.known else " (not weighed)"
        said = need_reading(need.reading)
        lines.append(f"    {need_name(need.limit):<12} {size:<7} {said}{note}")
    held = limits_words(made.limits_held)
    if made.pick is None:
        lines.append(f"  no size holds {held}")
    else:
        lines.append(
            f"  the cheapest size that holds {held}: {made.pick} "
            f"(decided by {limits_words(made.decided_by)})"
        )
    return lines
