"""The watcher: everything the daemon does for its projects, as plain async jobs.

The scheduler calls these jobs on intervals in the daemon; the replay calls them on a virtual
clock. Each job is one unit of work: run a probe and keep its state; or evaluate a project
(budget, diagnosis, alerts, escalation and its verification). A job asks the fleet
(watch/fleet.py) for the project's runtime and what this instance may do for it, and hands
both to the project's pipeline (watch/pipeline.py). Readers see a project through its
read-only ``ProjectView``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import httpx

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError
from sbwatch.core.lease import Fences
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.readings import MgmtHealth
from sbwatch.core.results import (
    Diagnosis,
    EmailKind,
    ProbeKind,
    ProbeResult,
    ProbeStatus,
    ProviderEmail,
    Severity,
)
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.diagnosis import RESIZING
from sbwatch.policy.plan import Plan
from sbwatch.probes.base import Probe
from sbwatch.store.base import Store
from sbwatch.watch.announcer import AlertObserver
from sbwatch.watch.fleet import Fleet
from sbwatch.watch.pipeline import Pipeline, took_level
from sbwatch.watch.provider import email_targets, plan_notice, say_unmatched
from sbwatch.watch.runtime import ProjectRuntime, ProjectView


class Watcher:
    """Probes, evaluates and acts for every configured project."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        http: httpx.AsyncClient,
        dispatcher: Dispatcher,
        owner: str = "daemon",
        on_alert: AlertObserver | None = None,
        fences: Fences | None = None,
    ) -> None:
        """``fences``: with high availability, this instance escalates and alerts for a project
        only while it holds the project's lease (the leader lease, unless projects are shared
        out), and probes and diagnoses the projects it runs (all of them, unless shared)."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.dispatcher = dispatcher
        projects: dict[str, ProjectRuntime] = {}
        self.pipeline = pipeline = Pipeline(
            settings,
            store,
            projects,
            clock=clock,
            metrics=metrics,
            http=http,
            dispatcher=dispatcher,
            owner=owner,
            on_alert=on_alert,
        )
        self.fleet = Fleet(settings, store, pipeline, projects, metrics=metrics, fences=fences)
        self.announcer = pipeline.announcer
        self.disk = pipeline.disk
        self.host = pipeline.host
        self.auth_limits = pipeline.auth_limits
        self._log = get_logger("watcher")

    @property
    def projects(self) -> Mapping[str, ProjectView]:
        """Every configured project, read-only."""
        return self.fleet.projects

    @property
    def provider_probe(self) -> Probe | None:
        """The status page probe; None when the status page is not read."""
        return self.pipeline.probing.provider_probe

    @property
    def provider_last(self) -> ProbeResult | None:
        """The status page probe's last result."""
        return self.pipeline.probing.provider_last

    # -- life cycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Restore state, discover compute sizes and settle unfinished escalations."""
        await self.fleet.start()
        self.pipeline.probing.start_provider()

    async def close(self) -> None:
        """Release every probe's connections."""
        await self.fleet.close()
        await self.pipeline.probing.close_provider()

    def runs(self, ref: str) -> bool:
        """Whether this instance probes and diagnoses ``ref`` now (see ``fences``)."""
        return self.fleet.runs(ref)

    def let_go(self, refs: Sequence[str]) -> None:
        """Projects that moved to another instance: their gauges are that instance's now."""
        self.fleet.let_go(refs)

    # -- jobs -----------------------------------------------------------------------------
    async def probe(self, ref: str, kind: ProbeKind) -> ProbeResult | None:
        """Run one probe of one project and keep its result, state and consequences; None
        when another instance runs the project. A change of state evaluates the project at
        once, instead of waiting for the next cycle."""
        runtime = await self.fleet.running(ref)
        if runtime is None:
            return None
        was = _project_status(runtime) if kind is ProbeKind.MGMT_HEALTH else None
        result, changed = await self.pipeline.probing.probe(runtime, kind, self.fleet.holding(ref))
        if was == RESIZING and _project_status(runtime) not in (RESIZING, None):
            # a resize just ended (sbwatch's or one made elsewhere): the new size runs from
            # now, full; read it at once, not at the next size check minutes on
            await self.check_size(ref)
        if changed and runtime.diagnosis is not None:  # after start's first evaluation
            await self.evaluate(ref)
        return result

    async def probe_provider(self) -> ProbeResult | None:
        """Run the provider-wide status page probe."""
        return await self.pipeline.probing.probe_provider()

    async def evaluate(self, ref: str) -> Diagnosis | None:
        """Budget corrections, diagnosis, escalation and its verification, then alerts; None
        when another instance runs the project."""
        runtime = await self.fleet.running(ref)
        if runtime is None:
            return None
        return await self.pipeline.evaluate(runtime, self.fleet.holding(ref))

    async def on_email(self, email: ProviderEmail) -> None:
        """A new provider email was stored: evaluate the project it concerns at once.

        The project is found by its ref (a dashboard link), else by the name the email gives;
        an email naming none fits the only project watched. One that fits no project is said
        as such, never applied to every project.
        """
        self._log.info(
            "provider email",
            kind=email.kind.value,
            project=email.project_ref,
            name=email.project_name,
            trusted=email.trusted,
        )
        projects = self.fleet.projects
        targets = email_targets(projects, email)
        if not targets and email.kind is not EmailKind.OTHER:
            self._log.warning("provider email matches no watched project")
            await say_unmatched(self.announcer, projects, email)
        for target in targets:
            ref = target.settings.ref
            runtime = await self.fleet.running(ref)
            if runtime is None:  # its holder evaluates it: every instance reads the mailbox
                continue
            if any(e.message_id == email.message_id for e in runtime.emails):
                continue  # a runtime just started read it from the store, and said it
            runtime.emails.append(email)
            took_level(runtime, email, self.clock.now())
            try:
                await self.announcer.email(runtime, email)
                await self.evaluate(ref)
            except SbwatchError as exc:  # the mailbox keeps going; the next cycle retries
                self._log.warning("email evaluation failed", project=ref, error=str(exc))

    async def plan_notice(self, ref: str) -> Plan | None:
        """The weekly right-sizing notice of one project (see ``provider.plan_notice``)."""
        runtime = await self.fleet.running(ref)
        if runtime is None:
            return None
        return await plan_notice(self.store, self.clock, self.announcer, runtime)

    async def check_size(self, ref: str) -> Tier | None:
        """Read the compute size from the provider and follow it (see ``Sizing.check``)."""
        runtime = await self.fleet.running(ref)
        if runtime is None:
            return None
        return await self.pipeline.sizing.check(runtime)

    async def check_disk(self, ref: str) -> None:
        """Read the disk's size, use and last change from the provider (the quota's count),
        and at the same slow pace the auth configuration (its rate limits, custom SMTP)."""
        runtime = await self.fleet.running(ref)
        if runtime is not None and runtime.api is not None:
            await self.disk.check(runtime)
            await self.auth_limits.check(runtime)

    async def notice(
        self, ref: str, severity: Severity, title: str, body: str, *, subject: Subject
    ) -> None:
        """A one-shot message about one project (a backup, a refused configuration)."""
        await self.announcer.notice(self.fleet.projects[ref], severity, title, body, subject)

    async def flush(self) -> int:
        """Deliver due notifications."""
        return await self.dispatcher.flush()

    # -- the replay's fast path (sim/quiet.py, sim/steady.py) -----------------------------
    def wrap_probes(self, wrap: Callable[[str, Probe], Probe]) -> None:
        """Put every probe behind ``wrap(ref, probe)`` (ref "" for the status page)."""
        for ref, runtime in self.fleet.projects.items():
            for kind, probe in runtime.probes.items():
                runtime.probes[kind] = wrap(ref, probe)
        if self.pipeline.probing.provider_probe is not None:
            self.pipeline.probing.provider_probe = wrap("", self.pipeline.probing.provider_probe)

    def settle(self, ref: str, kind: ProbeKind, status: ProbeStatus) -> None:
        """Move a probe's state on to ``status`` without a run: its answer was known and
        changes nothing else (see ``sim.quiet.settled_probe``)."""
        self.fleet.projects[ref].statuses[kind] = status


def _project_status(runtime: ProjectRuntime) -> str | None:
    """The project's status at the provider, as the Management API last said it."""
    status = runtime.statuses.get(ProbeKind.MGMT_HEALTH)
    reading = None if status is None or status.last is None else status.last.reading
    return reading.project_status if isinstance(reading, MgmtHealth) else None
