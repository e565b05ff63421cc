"""The schedule: the only module that imports APScheduler. Jobs are plain async callables."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from sbwatch.core.clock import Clock
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics

Job = Callable[[], Awaitable[Any]]
INSTANCES = 2
"""Per job: the run in progress, and one more that only notes it is skipped and returns, so
APScheduler never reaches its own limit (and its own log line)."""
FIRST_RUNS_PER_S = 50.0
"""At start, the first runs are spread so that about this many begin each second: a few jobs
all run at once, a fleet's thousands over up to one interval each."""
LATE_S = 1.0
"""A job that starts this much after its time is late."""
LATE_SAID_EVERY_S = 60.0
"""Late starts are logged at most this often, as one line with how many and the worst."""


@dataclass(frozen=True, slots=True)
class JobName:
    """A job's name as values: its kind (``probe``, ``evaluate``, ``backup``: the label of its
    lag in the metrics) and what it runs for (a project's ref, a probe's kind), in order."""

    kind: str
    subject: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``probe:REF:rest``: the job's id in the schedule and its name in the log."""
        return ":".join((self.kind, *self.subject))


def phase(name: str) -> float:
    """Where in its interval a job runs, in [0, 1): fixed by its name, so a restart or a reload
    keeps every job where it was and jobs of one interval do not start together."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


class _ToStructlog(logging.Handler):
    """APScheduler's warnings and errors as sbwatch log events (it logs through stdlib logging)."""

    def __init__(self, log: Any) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        emit = self.log.error if record.levelno >= logging.ERROR else self.log.warning
        emit("scheduler warning", detail=record.getMessage())


def _route_apscheduler_logs(log: Any) -> None:
    """Send APScheduler's own lines through ``log``, and only there."""
    library = logging.getLogger("apscheduler")
    for handler in list(library.handlers):
        if isinstance(handler, _ToStructlog):
            library.removeHandler(handler)
    library.addHandler(_ToStructlog(log))
    library.propagate = False


class Scheduler:
    """Runs named jobs on intervals; remembers when any job last finished (for the watchdog)."""

    def __init__(self, clock: Clock, metrics: Metrics | None = None) -> None:
        self._clock = clock
        self._metrics = metrics
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        self._running: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()
        self._intervals: list[tuple[JobName, float, Job]] = []
        self._due: dict[str, datetime] = {}
        self._late = 0
        self._late_worst_s = 0.0
        self._late_said = clock.monotonic() - LATE_SAID_EVERY_S
        self._skips: dict[str, tuple[float, int]] = {}
        """Per job: when a skipped run was last said at warning level, and skips since."""
        self._log = get_logger("scheduler")
        _route_apscheduler_logs(self._log)
        self.last_progress = clock.monotonic()

    def _submitted(self, event: JobSubmissionEvent) -> None:
        """APScheduler hands a run to the loop: note when it was due (read when it starts).

        Runs missed meanwhile are coalesced into this one: it is as late as the first of them.
        """
        self._due[event.job_id] = event.scheduled_run_times[0]

    def _started(self, job: JobName) -> None:
        """A run begins: how late it is, in the histogram and, when late, in the log."""
        due = self._due.pop(job.name, None)
        if due is None:
            return
        lag_s = max(0.0, (datetime.now(UTC) - due).total_seconds())
        if self._metrics is not None:
            self._metrics.job_lag.labels(job.kind).observe(lag_s)
        if lag_s < LATE_S:
            return
        self._late += 1
        self._late_worst_s = max(self._late_worst_s, lag_s)
        now = self._clock.monotonic()
        if now - self._late_said >= LATE_SAID_EVERY_S:
            self._log.warning(
                "schedule running late",
                late_runs=self._late,
                worst_s=round(self._late_worst_s, 1),
                detail="more work is due than this process gets done: fewer projects or "
                "longer intervals per instance",
            )
            self._late, self._late_worst_s, self._late_said = 0, 0.0, now

    def _skipped(self, name: str) -> None:
        """A skipped run: a warning once a minute per job (with the count since), else debug,
        so a once-a-second job that overruns is not a warning every second."""
        now = self._clock.monotonic()
        said, count = self._skips.get(name, (now - LATE_SAID_EVERY_S, 0))
        if now - said < LATE_SAID_EVERY_S:
            self._skips[name] = (said, count + 1)
            self._log.debug("job still running, run skipped", job=name)
            return
        self._skips[name] = (now, 0)
        self._log.warning("job still running, run skipped", job=name, skipped_since=count + 1)

    def _tracked(self, job_name: JobName, job: Job) -> Job:
        """The job as scheduled: a run due while the previous one still runs is skipped."""
        name = job_name.name

        async def tracked() -> None:
            self._started(job_name)
            if name in self._busy:
                self._skipped(name)
                return
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            self._busy.add(name)
            try:
                await job()
            except Exception:  # a failed job must not stop the schedule; the next run retries
                self._log.exception("job failed", job=name)
            finally:
                self._busy.discard(name)
                self.last_progress = self._clock.monotonic()
                if task is not None:
                    self._running.discard(task)

        return tracked

    def every(self, name: JobName, seconds: float, job: Job) -> None:
        """Run ``job`` every ``seconds``, never two at a time, misses coalesced.

        The first run comes at once when few jobs start together; with many, the first runs
        are spread (``FIRST_RUNS_PER_S``), each at its :func:`phase` of the spread, and the
        runs that follow keep that phase.
        """
        if self._scheduler.running:
            self._add_every(name, seconds, job, spread_s=0.0)
        else:
            self._intervals.append((name, seconds, job))

    def _add_every(self, name: JobName, seconds: float, job: Job, *, spread_s: float) -> None:
        first = datetime.now(UTC) + timedelta(seconds=phase(name.name) * min(seconds, spread_s))
        self._scheduler.add_job(
            self._tracked(name, job),
            "interval",
            seconds=seconds,
            id=name.name,
            name=name.name,
            max_instances=INSTANCES,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
            next_run_time=first,
            replace_existing=True,
        )

    def cron(self, name: JobName, trigger: CronTrigger, job: Job) -> None:
        """Run ``job`` when ``trigger`` fires (see :func:`cron_trigger`); never two at a time."""
        self._scheduler.add_job(
            self._tracked(name, job),
            trigger,
            id=name.name,
            name=name.name,
            max_instances=INSTANCES,
            coalesce=True,
            misfire_grace_time=3600,
            replace_existing=True,
        )

    def job_names(self) -> list[str]:
        """The scheduled job names."""
        pending = [name.name for name, _, _ in self._intervals]
        return sorted([job.id for job in self._scheduler.get_jobs()] + pending)

    def start(self) -> None:
        """Start running jobs on the current event loop, the first runs spread."""
        spread_s = len(self._intervals) / FIRST_RUNS_PER_S
        for name, seconds, job in self._intervals:
            self._add_every(name, seconds, job, spread_s=spread_s)
        self._intervals.clear()
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling, cancel running jobs and wait until they are gone."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def stalled_for(self) -> float:
        """Seconds since any job last finished."""
        return self._clock.monotonic() - self.last_progress
