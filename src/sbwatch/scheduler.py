"""The schedule: the only module that imports APScheduler. Jobs are plain async callables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from sbwatch.clock import Clock

Job = Callable[[], Awaitable[Any]]


class Scheduler:
    """Runs named jobs on intervals; remembers when any job last finished (for the watchdog)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self.last_progress = clock.monotonic()

    def every(self, name: str, seconds: float, job: Job, *, jitter_s: float = 0.0) -> None:
        """Run ``job`` every ``seconds``: first run at once, never two at a time, missed runs coalesced."""

        async def tracked() -> None:
            try:
                await job()
            finally:
                self.last_progress = self._clock.monotonic()

        self._scheduler.add_job(
            tracked,
            "interval",
            seconds=seconds,
            jitter=jitter_s or None,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
            next_run_time=self._clock.now(),
            replace_existing=True,
        )

    def job_names(self) -> list[str]:
        """The scheduled job names."""
        return sorted(job.id for job in self._scheduler.get_jobs())

    def start(self) -> None:
        """Start running jobs on the current event loop."""
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop scheduling; running jobs are cancelled by their owners."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def stalled_for(self) -> float:
        """Seconds since any job last finished."""
        return self._clock.monotonic() - self.last_progress
