"""The composition root: builds the store, clients, watcher and schedule, and runs the daemon.

Everything long-lived is created here and passed down; nothing is global. One TaskGroup owns
every task; SIGTERM/SIGINT stop the daemon, SIGHUP reloads the configuration (an invalid new
configuration is refused and the old one keeps running).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIServer

import httpx

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.alerting.words import (
    CONFIG_REFUSED_TITLE,
    STORE_REPLACED_TITLE,
    config_refused_body,
    store_replaced_body,
    took_over_body,
    took_over_title,
)
from sbwatch.config.settings import ProjectSettings, Settings, load_settings
from sbwatch.core.clock import Clock, SystemClock
from sbwatch.core.errors import ConfigError, StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.problems import Problem
from sbwatch.core.results import Diagnosis, ProbeKind, Severity
from sbwatch.core.subjects import Subject
from sbwatch.daemon.ack import ack_handler, ack_links
from sbwatch.daemon.backups import schedule_backups
from sbwatch.daemon.ha import Leadership
from sbwatch.daemon.http import http_client
from sbwatch.daemon.mailguard import MailGuard
from sbwatch.daemon.page import render_status_page, threadsafe
from sbwatch.daemon.presence import RENEW_EVERY_S, AlreadyRunning, Presence
from sbwatch.daemon.scheduler import JobName, Scheduler
from sbwatch.daemon.sdnotify import Notifier
from sbwatch.daemon.storelock import StoreFileLock
from sbwatch.daemon.storewatch import CHECK_EVERY_S, StoreWatch
from sbwatch.daemon.uptime import (
    MAINTENANCE_EVERY_S,
    UPTIME_EVERY_S,
    update_maintenance_metric,
    update_uptime_metrics,
)
from sbwatch.daemon.web import AckHandler, start_server
from sbwatch.ingest.imap import MailWatcher
from sbwatch.ingest.parse import rule_from_settings
from sbwatch.policy.escalation import CLOSE_WATCH_S
from sbwatch.remediation.executor import process_owner
from sbwatch.store import Store, open_store
from sbwatch.store.guard import GuardedStore
from sbwatch.watch.cadence import close_scrape_job, close_scrapes
from sbwatch.watch.credentials import TokenExpiryWatch
from sbwatch.watch.watcher import Watcher

EVALUATE_AT_LEAST_S = 60.0
"""A project is evaluated at least once a minute, more often when a probe runs faster."""
FLUSH_EVERY_S = 1.0
"""How often the outbox is checked: an alert leaves within about a second."""
PLAN_CHECK_S = 6 * 3600.0
"""How often the weekly right-sizing notice looks whether its week is up."""
HEARTBEAT_EVERY_S = 60.0
TOKEN_CHECK_S = 3600.0
"""How often the Management API token's expiry is looked at (each stage is said once)."""
STALL_LIMIT_S = 120.0
"""The watchdog stops being fed when no job has finished for this long."""

log = get_logger("daemon")


@dataclass
class Generation:
    """Everything built from one version of the configuration."""

    settings: Settings
    watcher: Watcher
    scheduler: Scheduler
    mail_task: asyncio.Task[None] | None
    store_watch: StoreWatch | None = None


@contextlib.contextmanager
def metrics_server(
    settings: Settings,
    metrics: Metrics,
    page: Callable[[str], str] | None = None,
    ack: AckHandler | None = None,
) -> Iterator[WSGIServer | None]:
    """Serve /metrics, and the status page at / and the Acknowledge links when given, on the
    configured address (127.0.0.1 by default) while in the block."""
    if not settings.metrics.enabled:
        yield None
        return
    address = f"{settings.metrics.listen}:{settings.metrics.port}"
    try:
        public = settings.alerting.public_url
        server, thread = start_server(
            settings.metrics.listen,
            settings.metrics.port,
            metrics.registry,
            page,
            ack=ack,
            public_host=urlsplit(public).hostname if public else None,
        )
    except OSError as exc:
        raise ConfigError(
            [Problem("metrics", f"cannot listen on {address} ({exc.strerror})")]
        ) from None
    log.info("metrics listening", address=settings.metrics.listen, port=server.server_port)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Daemon:
    """``sbwatch run``: probes on a schedule, evaluates, alerts and escalates until stopped."""

    def __init__(
        self, settings: Settings, *, config_path: Path | None, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.notifier = Notifier()
        # The lock owner is stable per host, not per process: a daemon restarted after a
        # crash (kill -9, OOM) takes back the escalation lock its predecessor left behind and
        # reconciles at once, instead of waiting out the lock's TTL with an intent stuck OPEN.
        # With high availability every instance is its own owner: the instance name.
        host = settings.ha.instance if settings.ha.enabled else socket.gethostname()
        self.owner = f"daemon:{host}"
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self.presence: Presence
        self.leadership: Leadership | None = None
        self.generation: Generation | None = None
        self.store_lock: StoreFileLock | None = None
        self.guard: GuardedStore | None = None

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT; 0 on a clean stop."""
        raise_open_files()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        try:
            async with self._resources() as (store, http):
                self.leadership = self._leadership(store)
                presence = Presence(
                    store,
                    clock=self.clock,
                    owner=process_owner("daemon"),
                    cycle_s=cycle_seconds(self.settings),
                    fence=self.leadership,
                )
                self.presence = presence
                if self.leadership is not None:
                    await self.leadership.tick()  # a lone instance leads from its first cycle
                await presence.claim()
                page = threadsafe(
                    lambda asked: render_status_page(store, self.settings, self.clock.now(), asked),
                    loop,
                )
                ack = ack_handler(store, self.settings, self.clock, loop)
                try:
                    with metrics_server(self.settings, self.metrics, page, ack):
                        await self._serve(store, http)
                finally:
                    await self._release(presence)
                    if self.leadership is not None:
                        await self.leadership.release()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        log.info("stopped")
        return 0

    async def _release(self, presence: Presence) -> None:
        """Say the daemon stopped and free the store; a store still away at the stop keeps
        the lock, which the next daemon of this host takes back at once (the same owner)."""
        try:
            await presence.release()
        except StoreError as exc:
            if self.guard is None or self.guard.up:
                raise
            log.warning("store not released at stop: it is away", error=str(exc))

    def _leadership(self, store: Store) -> Leadership | None:
        """This instance's part in the lease with ``[ha]``; None for the one daemon of a store."""
        if not self.settings.ha.enabled:
            return None
        leadership = Leadership(
            store,
            self.settings.ha,
            clock=self.clock,
            metrics=self.metrics,
            projects=[p.ref for p in self.settings.projects],
        )
        leadership.on_takeover = self._took_over
        leadership.on_moved = self._moved
        log.info("high availability", instance=leadership.name, lease_s=self.settings.ha.lease_s)
        return leadership

    async def _took_over(self, epoch: int, previous: str | None) -> None:
        """This instance leads now: say so in the heartbeat, and by a notice if configured."""
        await self.presence.beat()
        generation = self.generation
        if generation is None or not self.settings.ha.notify_takeover:
            return
        name = self.settings.ha.instance
        await generation.watcher.announcer.provider_notice(
            Severity.WARNING,
            took_over_title(name),
            took_over_body(name, epoch, previous),
            subject=Subject.HA,
        )

    async def _moved(self, gained: list[str], lost: list[str]) -> None:
        """Projects moved between instances: the ones gone are no longer exported from here
        (the ones gained are started afresh at their next probe)."""
        if self.generation is not None:
            self.generation.watcher.let_go(lost)

    @contextlib.asynccontextmanager
    async def _resources(self) -> AsyncIterator[tuple[Store, httpx.AsyncClient]]:
        state = self.settings.state
        if state.backend == "sqlite" and not self.settings.ha.enabled:
            self.store_lock = StoreFileLock(state.sqlite_path())
            self.store_lock.acquire()
        try:
            store = await open_store(state)
            if self.store_lock is not None:
                self.store_lock.opened()
            if not self.settings.ha.enabled:  # with several, the lease moves instead
                self.guard = GuardedStore(store, clock=self.clock)  # an outage loses nothing
                store = self.guard.store()
            try:
                async with http_client() as http:
                    yield store, http
            finally:
                await store.close()
        finally:
            if self.store_lock is not None:
                self.store_lock.release()

    async def _serve(self, store: Store, http: httpx.AsyncClient) -> None:
        async with asyncio.TaskGroup() as group:
            generation = await self._start(self.settings, store, http, group)
            leading = None
            if self.leadership is not None:
                leading = group.create_task(self.leadership.run(), name="ha")
            self.notifier.ready()
            self.notifier.status(f"watching {len(self.settings.projects)} project(s)")
            log.info("started", projects=[p.ref for p in self.settings.projects])
            watchdog = group.create_task(self._feed_watchdog(lambda: generation.scheduler))
            while not self._stop.is_set():
                await self._wait_for_signal()
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    generation = await self._reload_config(generation, store, http, group)
            self.notifier.stopping()
            watchdog.cancel()
            if leading is not None:
                leading.cancel()
            await self._finish(generation)
            if generation.store_watch is not None:  # what was held during an outage
                await generation.store_watch.last_chance()

    async def _wait_for_signal(self) -> None:
        stop = asyncio.ensure_future(self._stop.wait())
        reload = asyncio.ensure_future(self._reload.wait())
        try:
            await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (stop, reload):
                waiter.cancel()
            await asyncio.gather(stop, reload, return_exceptions=True)

    async def _start(
        self,
        settings: Settings,
        store: Store,
        http: httpx.AsyncClient,
        group: asyncio.TaskGroup,
    ) -> Generation:
        dispatcher = Dispatcher(
            store,
            settings.alerting.routes,
            clock=self.clock,
            metrics=self.metrics,
            retry_max_s=settings.alerting.retry_max.total_seconds(),
            http=http,
            fences=self.leadership,
            acks=ack_links(settings),
        )
        watcher = Watcher(
            settings,
            store,
            clock=self.clock,
            metrics=self.metrics,
            http=http,
            dispatcher=dispatcher,
            owner=self.owner,
            fences=self.leadership,
        )
        if self.leadership is not None and settings.ha.share_projects:
            self.leadership.projects = [p.ref for p in settings.projects]
        await watcher.start()
        scheduler = Scheduler(self.clock, self.metrics)
        _schedule(scheduler, settings, watcher, dispatcher, self.presence)
        scheduler.every(JobName("presence"), RENEW_EVERY_S, self._renew)
        watch = None
        if self.guard is not None:
            watch = StoreWatch(
                self.guard,
                dispatcher,
                settings.alerting.routes,
                clock=self.clock,
                metrics=self.metrics,
            )
            scheduler.every(JobName("store"), CHECK_EVERY_S, watch.check)
        scheduler.start()
        mail_task = None
        if settings.mail.enabled:
            mail = MailWatcher(
                settings.mail,
                store,
                clock=self.clock,
                metrics=self.metrics,
                on_email=watcher.on_email,
                rule=rule_from_settings(settings.mail),
            )
            guard = MailGuard(
                mail.run,
                store,
                clock=self.clock,
                metrics=self.metrics,
                notify=watcher.announcer.provider_notice,
            )
            mail_task = group.create_task(guard.run(), name="mail")
        self.generation = Generation(settings, watcher, scheduler, mail_task, watch)
        return self.generation

    async def _finish(self, generation: Generation) -> None:
        await generation.scheduler.stop()
        if generation.mail_task is not None:
            generation.mail_task.cancel()
            await asyncio.gather(generation.mail_task, return_exceptions=True)
        await generation.watcher.close()

    async def _reload_config(
        self, old: Generation, store: Store, http: httpx.AsyncClient, group: asyncio.TaskGroup
    ) -> Generation:
        self.notifier.reloading()
        try:
            new_settings = load_settings(self.config_path, require_projects=True)
        except ConfigError as exc:
            log.error("reload refused", problems=exc.problems)
            await _config_refused(old, exc)
            self.notifier.ready()
            return old
        for section in ("metrics", "state", "ha"):
            if getattr(new_settings, section) != getattr(old.settings, section):
                log.warning("restart needed", section=section, detail="kept the running one")
        await self._finish(old)
        self.settings = new_settings
        generation = await self._start(new_settings, store, http, group)
        log.info("reloaded", projects=[p.ref for p in new_settings.projects])
        self.notifier.ready()
        return generation

    async def _renew(self) -> None:
        """Keep the store's lock; a daemon that lost it to another, or whose state file was
        deleted or replaced under it, stops acting at once."""
        gone = self.store_lock.replaced() if self.store_lock is not None else None
        if gone is not None:
            log.error("stopping: state store replaced", detail=gone)
            await self._say_store_gone(gone)
            self._stop.set()
            return
        if self.guard is not None and not self.guard.up:
            return  # the store is away: nobody can take it meanwhile; renewed once it is back
        try:
            await self.presence.beat()
        except AlreadyRunning as exc:
            log.error("stopping: lost the state store", detail=str(exc))
            self._stop.set()

    async def _say_store_gone(self, why: str) -> None:
        """A CRITICAL notice, delivered at once (the outbox of the file still open serves)."""
        generation = self.generation
        if generation is None:
            return
        announcer = generation.watcher.announcer
        try:
            await announcer.provider_notice(
                Severity.CRITICAL,
                STORE_REPLACED_TITLE,
                store_replaced_body(why),
                subject=Subject.DAEMON,
            )
            await announcer.dispatcher.flush()
        except Exception as exc:  # the last word before stopping: failing it must not stop the stop
            log.error("state store notice not sent", error=type(exc).__name__)

    async def _feed_watchdog(self, scheduler: Callable[[], Scheduler]) -> None:
        interval = self.notifier.watchdog_interval_s()
        if interval is None:
            return
        while True:
            await asyncio.sleep(interval)
            stalled = scheduler().stalled_for()
            if stalled < STALL_LIMIT_S:
                self.notifier.watchdog()
            else:
                log.error("scheduler stalled", stalled_s=round(stalled))


def raise_open_files() -> None:
    """Lift the soft limit on open files to the hard one: a fleet keeps a connection or two per
    project, and an outage holds every request open until its timeout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def evaluate_every(project: ProjectSettings) -> float:
    """Seconds between evaluations of a project: its fastest probe, at most a minute."""
    intervals = [p.interval.total_seconds() for p in project.probes.values() if p.enabled]
    return min([EVALUATE_AT_LEAST_S, *intervals])


def cycle_seconds(settings: Settings) -> float:
    """The longest evaluation interval of any project: one cycle of the whole daemon."""
    return max((evaluate_every(p) for p in settings.projects), default=EVALUATE_AT_LEAST_S)


def _schedule(
    scheduler: Scheduler,
    settings: Settings,
    watcher: Watcher,
    dispatcher: Dispatcher,
    presence: Presence,
) -> None:
    """One job per (project, probe), one evaluation per project, delivery and heartbeat."""
    for project in settings.projects:
        for kind in watcher.projects[project.ref].probes:
            seconds = project.probes[kind].interval.total_seconds()
            job = _probe_job(watcher, project.ref, kind)
            scheduler.every(JobName("probe", (project.ref, kind.value)), seconds, job)
            if kind is ProbeKind.METRICS and close_scrapes(seconds):
                scheduler.every(
                    JobName("close-scrape", (project.ref,)),
                    CLOSE_WATCH_S,
                    close_scrape_job(watcher, project.ref, seconds, job),
                )
        scheduler.every(
            JobName("evaluate", (project.ref,)),
            evaluate_every(project),
            _evaluate_job(watcher, project.ref, presence),
        )
        scheduler.every(
            JobName("uptime", (project.ref,)), UPTIME_EVERY_S, _uptime_job(watcher, project.ref)
        )
        if project.budget.plan_notice:
            scheduler.every(
                JobName("plan", (project.ref,)), PLAN_CHECK_S, _plan_job(watcher, project.ref)
            )
        if watcher.projects[project.ref].reaches_api:
            scheduler.every(
                JobName("size", (project.ref,)),
                project.escalation.size_check.total_seconds(),
                _size_job(watcher, project.ref),
            )
            scheduler.every(
                JobName("disk", (project.ref,)),
                project.disk.check.total_seconds(),
                _disk_job(watcher, project.ref),
            )
    if watcher.provider_probe is not None:
        scheduler.every(
            JobName("probe", ("status_page",)),
            settings.status_page.interval.total_seconds(),
            watcher.probe_provider,
        )
    scheduler.every(JobName("notifications"), FLUSH_EVERY_S, dispatcher.flush)
    scheduler.every(JobName("maintenance"), MAINTENANCE_EVERY_S, _maintenance_job(watcher))
    if settings.mgmt_token_expires is not None:
        expiry = TokenExpiryWatch(
            settings.mgmt_token_expires,
            announcer=watcher.announcer,
            clock=watcher.clock,
            metrics=watcher.metrics,
        )
        scheduler.every(JobName("token-expiry"), TOKEN_CHECK_S, expiry.check)
    schedule_backups(scheduler, watcher)
    url = settings.alerting.heartbeat_url
    if url is not None:

        async def heartbeat() -> None:
            if scheduler.stalled_for() < STALL_LIMIT_S:
                await dispatcher.heartbeat(url)

        scheduler.every(JobName("heartbeat"), HEARTBEAT_EVERY_S, heartbeat)


def _probe_job(watcher: Watcher, ref: str, kind: ProbeKind) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await watcher.probe(ref, kind)

    return job


def _evaluate_job(watcher: Watcher, ref: str, presence: Presence) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        started = watcher.clock.monotonic()
        diagnosis = await watcher.evaluate(ref)
        presence.cycle_done()
        if diagnosis is None:  # another instance runs this project
            return
        duration_s = round(watcher.clock.monotonic() - started, 3)
        log.info("cycle finished", **cycle_summary(watcher, ref, diagnosis), duration_s=duration_s)

    return job


def cycle_summary(watcher: Watcher, ref: str, diagnosis: Diagnosis) -> dict[str, Any]:
    """What one evaluation of a project found: its one info line per cycle."""
    view = watcher.projects[ref]
    budget = view.budget
    return {
        "project": ref,
        "diagnosis": diagnosis.kind.value,
        "probes": {kind.value: status.state.value for kind, status in view.statuses.items()},
        "budget_left_pct": None if budget is None else round(budget.ratio * 100, 1),
    }


def _uptime_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        if not watcher.runs(ref):  # its holder exports it (projects shared out, a standby)
            return
        now = watcher.clock.now()
        await update_uptime_metrics(watcher.store, watcher.settings, watcher.metrics, ref, now)

    return job


def _maintenance_job(watcher: Watcher) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        now = watcher.clock.now()
        await update_maintenance_metric(
            watcher.store, watcher.settings, watcher.metrics, now, runs=watcher.runs
        )

    return job


def _plan_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await watcher.plan_notice(ref)

    return job


def _size_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await watcher.check_size(ref)

    return job


def _disk_job(watcher: Watcher, ref: str) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        await watcher.check_disk(ref)

    return job


async def _config_refused(generation: Generation, exc: ConfigError) -> None:
    """Tell people the new configuration was refused (the old one keeps running)."""
    body = config_refused_body(exc.problems)
    watcher = generation.watcher
    for ref in watcher.projects:
        await watcher.notice(
            ref, Severity.WARNING, CONFIG_REFUSED_TITLE, body, subject=Subject.CONFIG
        )
