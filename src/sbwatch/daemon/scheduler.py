"""The schedule: the only module that imports APScheduler. Jobs are plain async callables."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from sbwatch.core.clock import Clock
from sbwatch.core.log import get_logger

Job = Callable[[], Awaitable[Any]]
INSTANCES = 2
"""Per job: the run in progress, and one more that only notes it is skipped and returns, so
APScheduler never reaches its own limit (and its own log line)."""


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

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()
        self._log = get_logger("scheduler")
        _route_apscheduler_logs(self._log)
        self.last_progress = clock.monotonic()

    def _tracked(self, name: str, job: Job) -> Job:
        """The job as scheduled: a run due while the previous one still runs is skipped."""

        async def tracked() -> None:
            if name in self._busy:
                self._log.warning("job still running, run skipped", job=name)
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

    def every(self, name: str, seconds: float, job: Job, *, jitter_s: float = 0.0) -> None:
        """Run ``job`` every ``seconds``: at once first, never two at a time, misses coalesced."""
        self._scheduler.add_job(
            self._tracked(name, job),
            "interval",
            seconds=seconds,
            jitter=jitter_s or None,
            id=name,
            name=name,
            max_instances=INSTANCES,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
            next_run_time=self._clock.now(),
            replace_existing=True,
        )

    def cron(self, name: str, trigger: CronTrigger, job: Job) -> None:
        """Run ``job`` when ``trigger`` fires (see :func:`cron_trigger`); never two at a time."""
        self._scheduler.add_job(
            self._tracked(name, job),
            trigger,
            id=name,
            name=name,
            max_instances=INSTANCES,
            coalesce=True,
            misfire_grace_time=3600,
            replace_existing=True,
        )

    def job_names(self) -> list[str]:
        """The scheduled job names."""
        return sorted(job.id for job in self._scheduler.get_jobs())

    def start(self) -> None:
        """Start running jobs on the current event loop."""
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
