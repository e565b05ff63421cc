"""``sbwatch escalate``: raise the compute size by hand, through the daemon's journal and lock."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TextIO

import httpx
from pydantic import SecretStr

from sbwatch.alerting.incidents import IncidentRecorder
from sbwatch.alerting.words import evidence_lines
from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit, token_or_exit
from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import Clock, SystemClock
from sbwatch.core.durations import format_duration
from sbwatch.core.errors import ApiError, LockBusy, SbwatchError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import IntentState
from sbwatch.core.tiers import Tier, next_tier, rank, tier_for_variant
from sbwatch.policy.disk import quota
from sbwatch.policy.escalation import monthly_price
from sbwatch.remediation.disk import DiskApi, DiskChanger
from sbwatch.remediation.disk_journal import changes_seen, note_change
from sbwatch.remediation.executor import ComputeApi, Escalator, process_owner
from sbwatch.store import open_store
from sbwatch.store.base import Store
from sbwatch.supabase.disk import CHANGES_PER_WINDOW, monthly_disk_usd
from sbwatch.supabase.mgmt_api import ManagementApi, ServiceHealth

NAME = "escalate"
HELP = HELPS[NAME]


class CliApi(ComputeApi, Protocol):
    """What the command needs from the Management API."""

    async def health(self, ref: str) -> list[ServiceHealth]:
        """Service health of the project."""
        ...


def configure(parser: argparse.ArgumentParser) -> None:
    """REF, --to or --disk-gb, --yes, --dry-run."""
    parser.add_argument("ref", nargs="?", metavar="REF", help="project ref (default: the only one)")
    parser.add_argument(
        "--to",
        type=Tier,
        choices=list(Tier),
        metavar="TIER",
        help="target size (default: the next size up); one of " + ", ".join(Tier),
    )
    parser.add_argument(
        "--disk-gb",
        type=int,
        metavar="N",
        help="grow the database disk to N GB instead (one of the provider's four disk changes "
        "a day; no downtime)",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")


def pick_project(settings: Settings, ref: str | None) -> ProjectSettings:
    """The named project, or the only configured one; SystemExit(2) with a message otherwise."""
    if ref is not None:
        try:
            return settings.project(ref)
        except KeyError as exc:
            raise SystemExit(f"sbwatch: {exc.args[0]}") from None
    if len(settings.projects) != 1:
        raise SystemExit(f"sbwatch: name the project REF ({len(settings.projects)} configured)")
    return settings.projects[0]


def run(args: argparse.Namespace) -> int:
    """Plan, confirm, escalate and wait."""
    settings = settings_or_exit(args, watching=False)
    project = pick_project(settings, args.ref)
    token = token_or_exit(settings, project)
    try:
        return asyncio.run(_main(settings, project, token=token, args=args))
    except KeyboardInterrupt:
        print("\nstopped waiting; the journal is consistent and the daemon verifies the change.")
        return 130


async def _main(
    settings: Settings, project: ProjectSettings, *, token: SecretStr, args: argparse.Namespace
) -> int:
    clock = SystemClock()
    async with httpx.AsyncClient() as http:
        api = ManagementApi(http, settings.mgmt_api_url, token, clock=clock)
        store = await open_store(settings.state)
        try:
            if args.disk_gb is not None:
                return await disk_command(
                    project, api, store, clock, size_gb=args.disk_gb, yes=args.yes,
                    dry_run=args.dry_run,
                )  # fmt: skip
            return await escalate_command(
                project, api, store, clock, to=args.to, yes=args.yes, dry_run=args.dry_run
            )
        finally:
            await store.close()


@dataclass(frozen=True)
class Plan:
    """What the command is about to do."""

    current: Tier
    target: Tier
    current_usd: float
    target_usd: float
    problem: str  # why it must not go ahead ("" when it may)


async def make_plan(
    project: ProjectSettings, api: CliApi, to: Tier | None, out: TextIO | None
) -> Plan | None:
    """Current size (add-ons, else config), target and prices; None when the size is unknown."""
    prices: dict[Tier, float] = {}
    try:
        addons = await api.get_addons(project.ref)
        current = addons.compute_tier
        for variant, usd in addons.monthly_prices.items():
            tier = tier_for_variant(variant)
            if tier is not None:
                prices[tier] = usd
    except ApiError as exc:
        if project.tier is None:
            print(f"cannot read the compute size ({exc}) and none is configured", file=out)
            return None
        print(
            f"cannot read the compute size ({exc}); using the configured {project.tier}", file=out
        )
        current = project.tier
    target = to or next_tier(current) or current
    bounds = project.escalation
    target_usd = monthly_price(target, prices)
    problem = ""
    if rank(target) <= rank(current):
        problem = f"{target} is not above the current {current}; sbwatch never lowers the size"
    elif rank(target) > rank(bounds.max_tier):
        problem = (
            f"{target} is above max_tier = {bounds.max_tier}; raise it in the configuration first"
        )
    elif target_usd > bounds.monthly_cost_cap_usd:
        cap = bounds.monthly_cost_cap_usd
        problem = f"{target} costs ${target_usd:.2f}/month, over monthly_cost_cap_usd = {cap:.2f}"
    return Plan(current, target, monthly_price(current, prices), target_usd, problem)


async def escalate_command(
    project: ProjectSettings,
    api: CliApi,
    store: Store,
    clock: Clock,
    *,
    to: Tier | None,
    yes: bool,
    dry_run: bool,
    confirm: Callable[[str], bool] | None = None,
    out: TextIO | None = None,
    poll_s: float = 10.0,
) -> int:
    """The whole command against injected API, store and clock; the exit status."""
    ref = project.ref
    diagnosis = await store.latest_diagnosis(ref)
    if diagnosis is None:
        print(f"{project.display_name}: no diagnosis recorded yet", file=out)
    else:
        age = format_duration((clock.now() - diagnosis.at).total_seconds())
        print(
            f"{project.display_name}: {diagnosis.kind} ({age} ago, "
            f"confidence {diagnosis.confidence:.2f})",
            file=out,
        )
        for line in evidence_lines(diagnosis.evidence):  # stored: the lines as they were said
            print(f"  - {line}", file=out)
    plan = await make_plan(project, api, to, out)
    if plan is None:
        return 1
    delta = plan.target_usd - plan.current_usd
    print(
        f"compute: {plan.current} (${plan.current_usd:.2f}/month) -> {plan.target} "
        f"(${plan.target_usd:.2f}/month), {'+' if delta >= 0 else '-'}${abs(delta):.2f}/month",
        file=out,
    )
    if plan.problem:
        print(f"refused: {plan.problem}", file=out)
        return 2
    if dry_run:
        print("dry run: nothing changed", file=out)
        return 0
    ask = confirm or _ask
    if not yes and not ask(
        f"Raise {ref} to {plan.target}? Expect a few minutes of downtime. [y/N] "
    ):
        print("cancelled", file=out)
        return 1
    return await _apply(project, api, store, clock, plan, out, poll_s)


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        print("not a terminal: pass --yes to confirm", file=sys.stderr)
        return False
    return input(question).strip().lower() in {"y", "yes"}


async def _apply(
    project: ProjectSettings,
    api: CliApi,
    store: Store,
    clock: Clock,
    plan: Plan,
    out: TextIO | None,
    poll_s: float,
) -> int:
    user = getpass.getuser()
    owner = process_owner(f"cli:{user}")
    prices = {plan.current: plan.current_usd, plan.target: plan.target_usd}
    recorder = IncidentRecorder(store, clock, prices)  # a line of the open incident
    escalator = Escalator(
        store, api, clock=clock, metrics=Metrics(), owner=owner, on_intent=recorder.intent
    )
    try:
        intent = await escalator.escalate(
            project.ref, plan.current, plan.target, "requested from the command line", f"cli:{user}"
        )
    except LockBusy:
        print(
            "another sbwatch (the daemon?) is changing the compute size now; try again later",
            file=out,
        )
        return 75
    except SbwatchError as exc:
        print(f"not sent: {exc}", file=out)
        return 1
    if intent.state is not IntentState.APPLIED:
        print(f"intent #{intent.id} {intent.state}: {intent.detail or 'outcome unknown'}", file=out)
        return 1
    print(
        f"intent #{intent.id} applied; waiting for the services to recover (Ctrl-C stops waiting)",
        file=out,
    )
    progress = Progress(api, project.ref, clock, intent.created_at, out)
    done = await escalator.verify(
        intent,
        progress.healthy,
        timeout_s=project.escalation.verify_timeout.total_seconds(),
        poll_s=poll_s,
    )
    progress.end()
    if done.state is IntentState.RECOVERED and done.recovered_s is not None:
        print(f"recovered on {plan.target} in {format_duration(done.recovered_s)}", file=out)
        return 0
    print(f"intent #{done.id} {done.state}: {done.detail}", file=out)
    return 1


async def disk_command(
    project: ProjectSettings,
    api: ManagementApi | DiskApi,
    store: Store,
    clock: Clock,
    *,
    size_gb: int,
    yes: bool,
    dry_run: bool,
    confirm: Callable[[str], bool] | None = None,
    out: TextIO | None = None,
) -> int:
    """Grow the database disk to ``size_gb`` once, through the journal and the lock."""
    ref = project.ref
    try:
        disk = await api.get_disk(ref)
    except ApiError as exc:
        print(f"cannot read the disk: {exc}", file=out)
        return 1
    await note_change(store, ref, disk.last_modified_at, clock.now())
    q = quota(await changes_seen(store, ref), clock.now())
    delta = monthly_disk_usd(size_gb) - monthly_disk_usd(disk.size_gb)
    print(
        f"disk: {disk.size_gb} GB -> {size_gb} GB, +${delta:.2f}/month; "
        f"{q.used} of {CHANGES_PER_WINDOW} disk changes in 24 h seen",
        file=out,
    )
    problem = ""
    if size_gb <= disk.size_gb:
        problem = f"{size_gb} GB is not above the current {disk.size_gb} GB; a disk never shrinks"
    elif size_gb > project.disk.max_gb:
        problem = (
            f"{size_gb} GB is above disk.max_gb = {project.disk.max_gb}; raise it in the "
            "configuration first"
        )
    elif q.spent and q.frees_at is not None:
        problem = (
            f"the quota of {CHANGES_PER_WINDOW} disk changes in 24 h is spent; the next is "
            f"allowed at {q.frees_at:%a %H:%M} UTC"
        )
    if problem:
        print(f"refused: {problem}", file=out)
        return 2
    if dry_run:
        print("dry run: nothing changed", file=out)
        return 0
    if not yes and not (confirm or _ask)(f"Grow the disk of {ref} to {size_gb} GB? [y/N] "):
        print("cancelled", file=out)
        return 1
    user = getpass.getuser()
    changer = DiskChanger(
        store, api, clock=clock, metrics=Metrics(), owner=process_owner(f"cli:{user}")
    )
    try:
        intent = await changer.grow(ref, size_gb, "requested from the command line", f"cli:{user}")
    except LockBusy:
        print(
            "another sbwatch (the daemon?) is changing this project now; try again later", file=out
        )
        return 75
    except SbwatchError as exc:
        print(f"not sent: {exc}", file=out)
        return 1
    if intent.state is not IntentState.APPLIED:
        print(f"intent #{intent.id} {intent.state}: {intent.detail or 'outcome unknown'}", file=out)
        return 1
    print(f"intent #{intent.id} applied: the disk grows to {size_gb} GB", file=out)
    return 0


class Progress:
    """A live status line while waiting: project status and each service's health."""

    def __init__(
        self, api: CliApi, ref: str, clock: Clock, since: datetime, out: TextIO | None
    ) -> None:
        self._api, self._ref, self._clock, self._since, self._out = api, ref, clock, since, out
        self._tty = (out or sys.stdout).isatty()

    async def healthy(self) -> bool:
        """Poll status and health once, show them, and say whether everything is healthy."""
        try:
            status = (await self._api.get_project(self._ref)).status
            services = await self._api.health(self._ref)
        except ApiError as exc:
            self._show(f"management API: {exc}")
            return False
        parts = " ".join(f"{s.name}={s.status}" for s in services)
        self._show(f"{status} {parts}")
        return status == "ACTIVE_HEALTHY" and bool(services) and all(s.healthy for s in services)

    def _show(self, text: str) -> None:
        elapsed = format_duration((self._clock.now() - self._since).total_seconds())
        line = f"[{elapsed:>6}] {text}"
        if self._tty:
            print(f"\r\033[K{line}", end="", flush=True, file=self._out)
        else:
            print(line, file=self._out)

    def end(self) -> None:
        """Finish the live line."""
        if self._tty:
            print(file=self._out)
