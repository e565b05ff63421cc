"""Scenario replay: the simulator and the daemon's real logic on one virtual clock.

The watcher (real probes, store, budget estimator, diagnosis, alerting and escalation
policies) talks HTTP to the simulator's ASGI app in-process, so six simulated days pass in
seconds. The report follows shared/DESIGN.md; every [expect] key becomes one check. A scenario
may hold several projects: the watcher watches them all, as the daemon would.
"""

from __future__ import annotations

import heapq
import importlib.util
import itertools
import math
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.incident_text import incident_doc
from sbwatch.alerting.phone import Message
from sbwatch.alerting.words import evidence_lines
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.durations import format_duration
from sbwatch.core.metrics import Metrics
from sbwatch.core.probe_specs import REGISTRY
from sbwatch.core.results import BudgetEstimate, DiagnosisKind, IntentState, ProbeKind
from sbwatch.ingest.parse import TrustRule, parse_email
from sbwatch.policy.alerts import AlertAction
from sbwatch.policy.escalation import CLOSE_WATCH_S
from sbwatch.sim.direct import InProcessClient
from sbwatch.sim.expect_messages import match_messages, no_messages, per_project
from sbwatch.sim.invariants import invariant_checks
from sbwatch.sim.quiet import QuietEvaluations, UnreadMetrics, settled_probe
from sbwatch.sim.replay_store import FastReplayStore, ReplayStore
from sbwatch.sim.replay_uptime import replay_uptime
from sbwatch.sim.scenario import Scenario, ScenarioPolicy, ScenarioProject, stamp
from sbwatch.sim.score import score_checks
from sbwatch.sim.steady import steady
from sbwatch.sim.truth import START
from sbwatch.sim.world import SimWorld, create_app
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.announcer import FOLDED_NOTE
from sbwatch.watch.cadence import close_scrape_job, close_scrapes
from sbwatch.watch.watcher import Watcher

BASE = "http://127.0.0.1:8787"
TOKEN = "sbp_41dd3d61601c6697ce9160c3d20beaefe01d7b38"
SERVICE_KEY = "replay-service-key"
SERIES_EVERY_S = 600.0
QUIET_EVENTS = frozenset({"workload", "status_page"})
GIVEN_SECRETS = frozenset({"service_key", "mgmt_token"})
"""What the replay gives its projects: it runs each probe of the registry needing no more (the
simulator has no database for the db probe's DSN)."""

Printer = Callable[[str], None]


class NetworkGate(httpx.AsyncBaseTransport):
    """The watcher's only way out: fails every request while the world says our network is down."""

    def __init__(self, world: SimWorld, inner: httpx.AsyncBaseTransport) -> None:
        self._world = world
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward to the simulator, or fail like a cut cable, or time out like a slow server.

        An answer that took longer on the virtual clock than the request's read timeout is
        dropped with ReadTimeout (what the simulator did, such as applying a PATCH, stays done).
        """
        if not self._world.network_up:
            raise httpx.ConnectError("network unreachable", request=request)
        started = self._world.clock.monotonic()
        response = await self._inner.handle_async_request(request)
        limit = request.extensions.get("timeout", {}).get("read")
        if limit is not None and self._world.clock.monotonic() - started > limit:
            await response.aclose()
            raise httpx.ReadTimeout("no answer within the read timeout", request=request)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()


def replay_settings(
    scenario: Scenario, *, probe_interval_s: int = 60, scrape_interval_s: int = 300
) -> Settings:
    """The watcher's configuration for a scenario: every endpoint on the simulator.

    Service probes run every minute; the metrics scrape and the status page every five
    minutes, which keeps a six-day replay short while the workload changes at most hourly.
    """
    policy = scenario.policy
    scrape = f"{scrape_interval_s}s"
    probes = replay_probes(f"{probe_interval_s}s", scrape)
    projects = [
        {
            "ref": project.ref,
            "name": f"{scenario.name} ({project.ref[:6]})",
            "url": f"{BASE}/p/{project.ref}",
            "service_key": SERVICE_KEY,
            "probes": probes,
            "budget": {**_level(project), **_horizons(policy)},
            "disk": {"spend_cap": project.spend_cap},
            "escalation": {
                "mode": policy.mode.value,
                "max_tier": policy.max_tier.value,
                "monthly_cost_cap_usd": policy.monthly_cost_cap_usd,
                "cooldown": f"{int(policy.cooldown_s)}s",
                **_knobs(policy),
            },
        }
        for project in scenario.projects
    ]
    data: dict[str, Any] = {
        "mgmt_api_url": BASE,
        "mgmt_token": TOKEN,
        "projects": projects,
        "status_page": {"url": f"{BASE}/status", "interval": scrape},
        "metrics": {"enabled": False},
        "maintenance": [window.settings(START) for window in scenario.maintenance],
    }
    return Settings.model_validate(data)


def replay_probes(every: str, scrape: str) -> dict[str, dict[str, Any]]:
    """The probe tables of a replayed project: every project probe of the registry that needs
    no configured work and only the secrets the replay gives, each ``every``; the metrics
    ``scrape``."""
    probe = {"interval": every, "timeout": "25s", "failures_before_down": 2}
    return {
        kind.value: {**probe, "interval": scrape} if kind is ProbeKind.METRICS else probe
        for kind, spec in REGISTRY.items()
        if not spec.provider_wide and spec.needs is None and set(spec.secrets) <= GIVEN_SECRETS
    }


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _level(project: ScenarioProject) -> dict[str, float]:
    """The budget's level at the start as the daemon is told it (nothing when not told)."""
    return {"consumed_pct": 100.0 - project.io_budget_pct} if project.budget_told else {}


def _horizons(policy: ScenarioPolicy) -> dict[str, str]:
    """The warn horizons a scenario's [policy] sets (the daemon's defaults otherwise)."""
    given = {
        "warn_horizon": policy.warn_horizon_s,
        "pattern_warn_horizon": policy.pattern_warn_horizon_s,
        "critical_horizon": policy.critical_horizon_s,
    }
    return {key: _seconds(value) for key, value in given.items() if value is not None}


def _knobs(policy: ScenarioPolicy) -> dict[str, Any]:
    """max_steps and escalate_within, when the scenario's [policy] sets them."""
    knobs: dict[str, Any] = {}
    if policy.max_steps is not None:
        knobs["max_steps"] = policy.max_steps
    if policy.escalate_within_s is not None:
        knobs["escalate_within"] = _seconds(policy.escalate_within_s)
    return knobs


@dataclass
class Recorder:
    """What happened, as the report and the live timeline see it."""

    refs: tuple[str, ...]
    print_line: Printer | None
    clock: VirtualClock
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    probe_states: list[dict[str, Any]] = field(default_factory=list)

    def say(self, text: str) -> None:
        """One timeline line, stamped with the virtual time."""
        if self.print_line is not None:
            self.print_line(f"{stamp(self.clock.elapsed):>9}  {text}")

    def alert(self, action: AlertAction, message: Message) -> None:
        """An alert or notice: sent, or recorded and held back (with why)."""
        at = round(self.clock.elapsed, 1)
        if not action.send:
            self.held.append(
                {
                    "at_s": at,
                    "key": action.alert.key,
                    "kind": action.kind,
                    "title": action.alert.title,
                    "note": action.note,
                }
            )
            self.say(f"HELD    {action.note}: {action.alert.title}")
            return
        self.alerts.append(
            {
                "at_s": at,
                "severity": action.severity.value,
                "title": message.title,
                "body": message.body,
                "kind": action.kind,
                "project": action.alert.project,
                "key": action.alert.key,
            }
        )
        self.say(f"ALERT   {message.title}")


Job = tuple[float, int, float, Callable[[], Awaitable[Any]]]


async def replay(
    scenario: Scenario,
    *,
    print_line: Printer | None = None,
    probe_interval_s: int = 60,
    store: SqliteStore | None = None,
    fast: bool = True,
) -> dict[str, Any]:
    """Replay one scenario and return the report (``passed`` says whether every check held).

    ``store``: an unopened store to use instead of the in-memory ReplayStore (it is closed).
    ``fast``: requests go straight to the simulator's handlers (sim/direct.py); False sends
    them through httpx's in-process HTTP transport. Both give the same report.
    """
    clock = VirtualClock(START)
    world = SimWorld(clock)
    for project in scenario.projects:
        world.add_project(
            project.ref,
            project.tier,
            project.io_budget_pct,
            true_limits_factor=project.true_limits_factor,
            disk_gb=project.disk_gb,
            disk_used_pct=project.disk_used_pct,
            spend_cap=project.spend_cap,
        )
    settings = replay_settings(scenario, probe_interval_s=probe_interval_s)
    app = create_app(world, token=TOKEN, service_key=SERVICE_KEY)
    rec = Recorder(tuple(p.ref for p in scenario.projects), print_line, clock)
    if store is None:
        store = FastReplayStore() if fast else ReplayStore()
    await store.open()
    missing = _remember_missing("sniffio")
    try:
        async with _client(world, app, fast=fast) as http:
            metrics = UnreadMetrics() if fast else Metrics()
            dispatcher = Dispatcher(store, [], clock=clock, metrics=metrics)
            watcher = Watcher(
                settings,
                store,
                clock=clock,
                metrics=metrics,
                http=http,
                dispatcher=dispatcher,
                on_alert=rec.alert,
            )
            await watcher.start()
            if fast:
                _steady_probes(watcher, world, app)
            try:
                await _run(scenario, world, watcher, rec, probe_interval_s, fast=fast)
            finally:
                await watcher.close()
        report = await _report(scenario, world, store, rec)
        report["uptime"] = await replay_uptime(store, settings, START, clock.now())
        return report
    finally:
        _forget_missing(missing)
        await store.close()


def _client(world: SimWorld, app: Starlette, *, fast: bool) -> httpx.AsyncClient:
    if fast:
        return InProcessClient(world, app, timeout=30.0)
    transport = NetworkGate(world, httpx.ASGITransport(app=app))
    return httpx.AsyncClient(transport=transport, timeout=30.0)


def _steady_probes(watcher: Watcher, world: SimWorld, app: Starlette) -> None:
    """The fast path's probes: answers reused while the world stays the same (sim/steady.py)."""
    limiter = app.state.limiter
    watcher.wrap_probes(lambda ref, probe: steady(probe, world, ref, limiter=limiter, token=TOKEN))


def _remember_missing(name: str) -> str | None:
    """Make ``import name`` fail at once while replaying when the module is not installed.

    httpx's in-process transport tries ``import sniffio`` on every request; without it, each
    failed import searches sys.path again, about a sixth of a six-day replay's time.
    """
    if name in sys.modules or importlib.util.find_spec(name) is not None:
        return None
    sys.modules[name] = None  # type: ignore[assignment]  # the import system's "known missing"
    return name


def _forget_missing(name: str | None) -> None:
    if name is not None and name in sys.modules and sys.modules[name] is None:
        del sys.modules[name]


async def _run(
    scenario: Scenario,
    world: SimWorld,
    watcher: Watcher,
    rec: Recorder,
    every: float,
    *,
    fast: bool,
) -> None:
    clock = rec.clock
    counter = itertools.count()
    jobs: list[Job] = []

    def schedule(interval: float, job: Callable[[], Awaitable[Any]]) -> None:
        heapq.heappush(jobs, (0.0, next(counter), interval, job))

    settings = watcher.settings
    quiet = QuietEvaluations(watcher, lambda: _made(world, rec)) if fast else None
    schedule(settings.status_page.interval.total_seconds(), watcher.probe_provider)
    for ref in rec.refs:
        project = settings.project(ref)
        for kind in watcher.projects[ref].probes:
            interval = project.probes[kind].interval.total_seconds()
            probe = _probe_job(watcher, rec, ref, kind, fast=fast)
            schedule(interval, probe)
            if kind is ProbeKind.METRICS and close_scrapes(interval):
                schedule(CLOSE_WATCH_S, close_scrape_job(watcher, ref, interval, probe))
        schedule(every, _evaluate_job(watcher, rec, ref, quiet))
        schedule(project.escalation.size_check.total_seconds(), _size_job(watcher, ref))
        schedule(project.disk.check.total_seconds(), _disk_job(watcher, ref))
    events = list(scenario.events)
    trust = TrustRule(
        trusted_domains=tuple(watcher.settings.mail.trusted_domains),
        authserv_id=None,
        dns=world.dns_txt,  # the simulated world's DNS publishes its provider's DKIM key
    )
    seen_emails = 0
    next_series = 0.0

    def apply_due(until: float) -> None:
        """Every event due by ``until``, each at its own time: the clock stops there, also
        when a job's slow answer sleeps across it (the world the truth runs, sim/truth.py)."""
        while events and events[0]["at_s"] <= until:
            event = events.pop(0)
            clock.move_to(float(event["at_s"]))
            world.apply({k: v for k, v in event.items() if k != "at_s"})
            rec.say(f"EVENT   {_describe(event)}")

    clock.on_the_way = apply_due
    try:
        while True:
            next_event = events[0]["at_s"] if events else float("inf")
            next_job = jobs[0][0] if jobs else float("inf")
            upcoming = min(next_event, next_job, next_series)
            if upcoming > scenario.duration_s:
                break
            if upcoming > clock.elapsed:
                clock.advance(upcoming - clock.elapsed)
            apply_due(clock.elapsed)
            while seen_emails < len(world.emails):
                raw = world.emails[seen_emails]
                seen_emails += 1
                await _ingest(raw, trust, watcher, rec)
            if next_series <= clock.elapsed:
                _sample_series(world, watcher, rec)
                next_series += SERIES_EVERY_S
            # Only the jobs due at this step: a job may move the clock itself (a slow answer
            # sleeps on it; the events on the way are applied at their time), and the jobs
            # due meanwhile run in the next round.
            step = clock.elapsed
            while jobs and jobs[0][0] <= step:
                due, _, interval, job = heapq.heappop(jobs)
                await job()
                heapq.heappush(
                    jobs, (next_due(due, interval, clock.elapsed), next(counter), interval, job)
                )

    finally:
        clock.on_the_way = None


def _made(world: SimWorld, rec: Recorder) -> int:
    """How many messages (sent or held) and compute changes (asked) there have been."""
    return len(rec.alerts) + len(rec.held) + world.patch_attempts


def next_due(due: float, interval: float, now: float) -> float:
    """The next run of a job on its grid after ``due``; runs missed in a clock jump coalesce."""
    following = due + interval
    if following > now:
        return following
    return following + interval * (math.floor((now - following) / interval) + 1)


def _probe_job(
    watcher: Watcher, rec: Recorder, ref: str, kind: ProbeKind, *, fast: bool
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        if fast and await settled_probe(watcher, ref, kind):
            return  # answered as a minute ago, nothing moved (sim/quiet.py)
        before = watcher.projects[ref].statuses.get(kind)
        await watcher.probe(ref, kind)
        after = watcher.projects[ref].statuses[kind]
        if before is None or before.state is not after.state:
            rec.probe_states.append(
                {
                    "at_s": round(rec.clock.elapsed, 1),
                    "project": ref,
                    "probe": kind.value,
                    "state": after.state.value,
                }
            )
            if before is not None:
                rec.say(f"PROBE   {kind.value} {before.state.value} -> {after.state.value}")

    return job


def _size_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    """The daemon's size check: how a resize made elsewhere (the dashboard) is seen."""

    async def job() -> None:
        await watcher.check_size(ref)

    return job


def _disk_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    """The daemon's disk check: the disk's size, use and changes from the Management API."""

    async def job() -> None:
        await watcher.check_disk(ref)

    return job


def _evaluate_job(
    watcher: Watcher, rec: Recorder, ref: str, quiet: QuietEvaluations | None
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        if quiet is None:
            await _evaluate(watcher, rec, ref)
        else:  # skipped while it would repeat an idle one (sim/quiet.py)
            await quiet.evaluate(ref, lambda: _evaluate(watcher, rec, ref))

    return job


async def _evaluate(watcher: Watcher, rec: Recorder, ref: str) -> None:
    diagnosis = await watcher.evaluate(ref)
    assert diagnosis is not None  # a replay runs every project: it shares none out
    mine = [d for d in rec.diagnoses if d["project"] == ref]
    last = mine[-1]["kind"] if mine else None
    if diagnosis.kind.value != last:
        rec.diagnoses.append(
            {"at_s": round(rec.clock.elapsed, 1), "kind": diagnosis.kind.value, "project": ref}
        )
        why = "; ".join(evidence_lines(diagnosis.evidence[:2]))
        who = f"{ref[:6]} " if len(rec.refs) > 1 else ""
        rec.say(f"DIAGNOSIS {who}{diagnosis.kind.value} ({why})")


async def _ingest(raw: bytes, trust: TrustRule, watcher: Watcher, rec: Recorder) -> None:
    email = parse_email(raw, trust, fallback_time=rec.clock.now())
    if email is None:
        return
    fresh = await watcher.store.record_email(email)
    trusted = "trusted" if email.trusted else "UNTRUSTED"
    rec.emails.append(
        {
            "at_s": round(rec.clock.elapsed, 1),
            "kind": email.kind.value,
            "trusted": email.trusted,
            "subject": email.subject,
        }
    )
    rec.say(f"EMAIL   {email.kind.value} ({trusted}): {email.subject}")
    if fresh:
        await watcher.on_email(email)


def _sample_series(world: SimWorld, watcher: Watcher, rec: Recorder) -> None:
    """The chart's points: the estimate beside the world's truth (read as ``SimWorld.truth``
    reads it, without the rest of its document)."""
    for ref in rec.refs:
        world.sync(ref)
        project = world.projects[ref]
        model = project.model
        estimate = watcher.projects[ref].budget
        rec.series.append(
            {
                "at_s": round(rec.clock.elapsed, 1),
                "project": ref,
                "estimated": round(estimate.ratio, 4) if estimate else None,
                "true": round(model.budget_ratio, 4),
                "true_bytes": round(model.bytes_balance.ratio, 4),
                "true_iops": round(model.ops_balance.ratio, 4),
                "eta_s": estimate.eta_s if estimate else None,
                "tier": str(project.tier),
                "asked_mbps": round(model.demand_mbps, 1),
                "served_mbps": round(model.actual_read_mbps + model.actual_write_mbps, 1),
                "throttled": model.throttled,
                "rest_latency_s": round(model.latency_s("rest"), 3),
            }
        )


def _describe(event: dict[str, Any]) -> str:
    details = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("at_s", "kind"))
    return f"{event['kind']} {details}".strip()


async def _report(
    scenario: Scenario, world: SimWorld, store: SqliteStore, rec: Recorder
) -> dict[str, Any]:
    escalations: list[dict[str, Any]] = []
    applied: dict[str, list[str]] = {}
    for ref in rec.refs:
        intents = await store.intents(ref)
        budgets = await store.budget_history(ref, START)
        escalations += [
            {
                "at_s": round((i.created_at - START).total_seconds(), 1),
                "project": ref,
                "from": i.from_tier.value,
                "to": i.to_tier.value,
                "outcome": i.state.value,
                "recovered_s": i.recovered_s,
                "actor": i.actor,
                "budget": _budget_before(budgets, i.created_at),
            }
            for i in intents
        ]
        applied[ref] = [i.to_tier.value for i in intents if i.state in _CHANGED]
    escalations.sort(key=lambda e: float(e["at_s"]))
    truths = {ref: world.truth(ref) for ref in rec.refs}
    stats = world.stats()
    reference = next((e["at_s"] for e in scenario.events if e["kind"] not in QUIET_EVENTS), None)
    first = first_alert(rec.alerts, rec.held, reference)
    report: dict[str, Any] = {
        "scenario": scenario.name,
        "passed": False,
        "duration_s": scenario.duration_s,
        "projects": list(rec.refs),
        "diagnoses": rec.diagnoses,
        "alerts": rec.alerts,
        "messages": messages(rec.alerts),
        "escalations": escalations,
        "patch_calls": stats["patch_calls"],
        "patch_attempts": stats["patch_attempts"],
        "disk_calls": world.disk_calls,
        "disk_attempts": world.disk_attempts,
        "disk_changes": {ref: t["disk_changes"] for ref, t in truths.items()},
        "read_only_s": round(sum(t["read_only_s"] for t in truths.values()), 1),
        "downtime_s": round(sum(t["downtime_s"] for t in truths.values()), 1),
        "downtime_by_project": {ref: round(t["downtime_s"], 1) for ref, t in truths.items()},
        "first_alert_s": first,
        "reference_event_s": reference,
        "held": rec.held,
        "final_tier": truths[rec.refs[0]]["tier"],
        "final_tiers": {ref: t["tier"] for ref, t in truths.items()},
        "emails": rec.emails,
        "series": rec.series,
        "probe_states": rec.probe_states,
        "changes": world.changes,
        "api_resizes": list(world.api_resizes),
        "api_disk_changes": list(world.api_disk_changes),
        "outside_resizes": world.outside_resizes,
        "open_alerts": [
            {"key": a.key, "project": a.project, "severity": a.severity.value, "title": a.title}
            for a in await store.open_alerts()
        ],
        "incidents": [
            incident_doc(i, await store.incident_events(i.id)) for i in await store.incidents()
        ],
        "true_end": {
            ref: {key: t[key] for key in ("budget_ratio", "throttled", "paused", "down")}
            for ref, t in truths.items()
        },
    }
    report["checks"] = checks(scenario, report, applied=applied)
    report["passed"] = all(c["passed"] for c in report["checks"])
    return report


def _budget_before(budgets: list[BudgetEstimate], at: datetime) -> dict[str, Any] | None:
    """The last budget estimate made at or before ``at`` (what a decision then saw)."""
    seen = [b for b in budgets if b.at <= at]
    if not seen:
        return None
    last = seen[-1]
    return {
        "ratio": round(last.ratio, 4),
        "eta_s": last.eta_s,
        "refills": last.refills,
        "burn_mbps": round(last.burn_mbps, 3),
    }


def messages(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages the phone got, in order: when, how urgent, title and body (and whose)."""
    keys = ("at_s", "severity", "title", "body", "project")
    return [{key: alert[key] for key in keys if key in alert} for alert in alerts]


def first_alert(
    alerts: list[dict[str, Any]], held: list[dict[str, Any]], reference: float | None
) -> float | None:
    """When the person first heard of the problem the reference event is about.

    The first alert sent at or after the event; or, when the event was folded into an alert
    the person already held (a provider email confirming an open IO budget alert), the moment
    it was folded in.
    """
    since = 0.0 if reference is None else reference
    times = [at for at in [a["at_s"] for a in alerts] + folds(held) if at >= since]
    return min(times) if times else None


def folds(held: list[dict[str, Any]]) -> list[float]:
    """When provider emails were folded into an alert already sent."""
    return [h["at_s"] for h in held if h["note"] == FOLDED_NOTE]


_CHANGED = frozenset({IntentState.APPLIED, IntentState.RECOVERED, IntentState.UNRECOVERED})


def checks(
    scenario: Scenario, report: dict[str, Any], *, applied: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """One check per [expect] key of the scenario.

    ``applied``: per project ref, the sizes that the changes which took effect moved to.
    """
    expect = scenario.expect
    seen = {d["kind"] for d in report["diagnoses"]}
    out: list[dict[str, Any]] = []

    def check(name: str, passed: bool, detail: str) -> None:
        out.append({"name": name, "passed": passed, "detail": detail})

    if expect.diagnosis is not None:
        check(
            "diagnosis", expect.diagnosis in seen, f"wanted {expect.diagnosis}; saw {sorted(seen)}"
        )
    if expect.never:
        bad = sorted(seen & set(expect.never))
        check("never", not bad, f"must not see {list(expect.never)}; saw {bad or 'none of them'}")
    wanted = dict(expect.escalate_to_each)
    if expect.escalate_to is not None:
        wanted = {ref: expect.escalate_to for ref in applied} | wanted
    if wanted:
        final = report["final_tiers"]
        results = {
            ref: _escalation(tier, applied.get(ref, []), final.get(ref))
            for ref, tier in wanted.items()
        }
        several = len(applied) > 1
        check(
            "escalate_to",
            all(ok for ok, _ in results.values()),
            "; ".join(f"{ref[:6]}: {d}" if several else d for ref, (_, d) in results.items()),
        )
    if expect.max_patch_calls is not None:
        check(
            "max_patch_calls",
            report["patch_calls"] <= expect.max_patch_calls,
            f"{report['patch_calls']} applied (of {report['patch_attempts']} attempts), "
            f"at most {expect.max_patch_calls}",
        )
    if expect.max_disk_calls is not None:
        check(
            "max_disk_calls",
            report["disk_calls"] <= expect.max_disk_calls,
            f"{report['disk_calls']} disk changes applied (of {report['disk_attempts']} "
            f"attempts), at most {expect.max_disk_calls}",
        )
    if expect.max_read_only_s is not None:
        check(
            "max_read_only",
            report["read_only_s"] <= expect.max_read_only_s,
            f"{format_duration(report['read_only_s'])} read-only; "
            f"limit {format_duration(expect.max_read_only_s)}",
        )
    if expect.first_alert_within_s is not None:
        first, ref = report["first_alert_s"], report["reference_event_s"] or 0.0
        ok = first is not None and first - ref <= expect.first_alert_within_s
        folded = first in folds(report.get("held", []))
        what = "folded into the open alert" if folded else "first alert"
        delay = "no alert" if first is None else f"{what} {format_duration(first - ref)} after"
        check(
            "first_alert_within",
            ok,
            f"{delay} the event at {format_duration(ref)}; "
            f"limit {format_duration(expect.first_alert_within_s)}",
        )
    if expect.max_downtime_s is not None:
        check(
            "max_downtime",
            report["downtime_s"] <= expect.max_downtime_s,
            f"{format_duration(report['downtime_s'])} down; "
            f"limit {format_duration(expect.max_downtime_s)}",
        )
    sent = report.get("messages", report.get("alerts", []))
    if expect.messages:
        ok, detail = match_messages(expect.messages, sent)
        check("messages", ok, detail)
    if expect.max_messages is not None:
        check(
            "max_messages",
            len(sent) <= expect.max_messages,
            f"{len(sent)} sent, at most {expect.max_messages}",
        )
    if expect.no_messages:
        check("no_messages", *no_messages(expect.no_messages, report.get("alerts", sent)))
    limits = dict(expect.max_messages_each)
    if expect.max_messages_per_project is not None:
        limits = {ref: expect.max_messages_per_project for ref in report["projects"]} | limits
    if limits:
        several = len(report["projects"]) > 1
        check("max_messages_per_project", *per_project(limits, sent, several=several))
    if expect.invariants:
        out += invariant_checks(scenario, report)
    if expect.score:
        out += score_checks(scenario, report)
    return out


def _escalation(tier: str, applied: list[str], final: str | None) -> tuple[bool, str]:
    if tier == "none":
        return not applied, f"changes applied: {applied or 'none'}"
    ok = tier in applied and final == tier
    return ok, f"wanted {tier}; applied {applied or 'none'}, final tier {final}"


__all__ = ["DiagnosisKind", "replay", "replay_settings"]
