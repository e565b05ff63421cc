"""The fleet: which projects this instance holds, and moving them here and away.

Without high availability every project is this instance's to run and to act for. With it, a
project is run (probed, diagnosed) while the fences say so and acted for (escalated, alerted)
while its lease's fence is acting; with projects shared out, a project that moves here is
started afresh from what its last holder stored, and one that leaves is let go of. Each
project's pipeline is handed a ``Holding``: what it may do and the fence of its writes. This
is the one module of ``watch/`` that reads the leases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.lease import Fence, Fences
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import ProbeKind, ProbeStatus
from sbwatch.store.base import ProbeStore
from sbwatch.watch.pipeline import Pipeline
from sbwatch.watch.runtime import ProjectRuntime

START_BATCH = 16
"""Projects started at once."""


@dataclass(frozen=True, slots=True)
class Holding:
    """What this instance may do for one project (the pipeline's ``Mandate``).

    Its answers are read from the leases when asked: a lease can be lost, or renewed, during
    any wait of a job."""

    ref: str
    fences: Fences | None
    """None: one instance, which runs and acts for every project."""

    @property
    def fence(self) -> Fence | None:
        """The fence of the project's writes: its own lease when projects are shared out,
        else the leader lease; None without high availability."""
        if self.fences is None:
            return None
        return self.fences.fence(self.fences.lease_for(self.ref))

    def runs(self) -> bool:
        """Whether this instance probes and diagnoses the project now."""
        return self.fences is None or self.fences.runs(self.ref)

    def acts(self) -> bool:
        """Whether this instance escalates and alerts for the project now."""
        fence = self.fence
        return fence is None or fence.acting()


class Fleet:
    """The runtimes of every configured project: started, dormant, or moved here afresh."""

    def __init__(
        self,
        settings: Settings,
        store: ProbeStore,
        pipeline: Pipeline,
        projects: dict[str, ProjectRuntime],
        *,
        metrics: Metrics,
        fences: Fences | None = None,
    ) -> None:
        """``projects``: filled here, read by the pipeline (which project an email is for)."""
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.projects = projects
        self.metrics = metrics
        self.fences = fences
        self._names: dict[str, str] = {}
        self._moving: dict[str, asyncio.Lock] = {}
        self._log = get_logger("watcher")

    def holding(self, ref: str) -> Holding:
        """What this instance may do for ``ref``."""
        return Holding(ref, self.fences)

    def runs(self, ref: str) -> bool:
        """Whether this instance probes and diagnoses ``ref`` now."""
        return self.fences is None or self.fences.runs(ref)

    async def start(self) -> None:
        """Start every project, ``START_BATCH`` at a time: a fleet's start-up is bounded by the
        round trips to the provider, not their sum."""
        statuses = {(s.project, s.probe): s for s in await self.store.probe_statuses()}
        projects = self.settings.projects
        self._names = names = await self.pipeline.provider_names()
        for at in range(0, len(projects), START_BATCH):
            batch = projects[at : at + START_BATCH]
            started = await asyncio.gather(*(self._start(p, statuses, names) for p in batch))
            self.projects.update((runtime.settings.ref, runtime) for runtime in started)

    async def _start(
        self,
        project: ProjectSettings,
        statuses: dict[tuple[str, ProbeKind], ProbeStatus],
        names: dict[str, str],
    ) -> ProjectRuntime:
        """A project's runtime: started for real when this instance runs it, else dormant."""
        holding = self.holding(project.ref)
        if not holding.runs():
            return self.pipeline.dormant(project, self._names)
        held = self._held_epoch(project.ref)  # before reading the state its holder wrote
        return await self.pipeline.start(project, statuses, names, holding, held_epoch=held)

    def _held_epoch(self, ref: str) -> int | None:
        """The epoch of ``ref``'s own lease when projects are shared out and this instance
        holds it; None otherwise."""
        if self.fences is None or not self.settings.ha.share_projects:
            return None
        fence = self.holding(ref).fence
        return None if fence is None else fence.epoch

    async def running(self, ref: str) -> ProjectRuntime | None:
        """The runtime of a project this instance runs now, None for one it does not.

        A project that has just moved here (projects shared out) is first started afresh from
        the store (the probe states, estimate, journal and alert timers its last holder wrote,
        and its size from the provider) and probed once.
        """
        if not self.runs(ref):
            return None
        runtime = self.projects[ref]
        epoch = self._held_epoch(ref)
        if epoch == runtime.held_epoch:
            return runtime
        async with self._moving.setdefault(ref, asyncio.Lock()):
            runtime = self.projects[ref]
            if self._held_epoch(ref) != runtime.held_epoch:
                runtime = await self._restart(runtime)
        return runtime

    async def _restart(self, old: ProjectRuntime) -> ProjectRuntime:
        ref = old.settings.ref
        statuses = {(s.project, s.probe): s for s in await self.store.probe_statuses(ref)}
        runtime = await self._start(old.settings, statuses, self._names)
        self.projects[ref] = runtime
        old.replaced = True
        for probe in old.probes.values():
            await probe.aclose()
        self._log.info("project taken on", project=ref, epoch=runtime.held_epoch)
        # Every probe once before the first evaluation: half the signals would read as a
        # contradiction, and be alerted as one.
        holding = self.holding(ref)
        await asyncio.gather(
            *(self.pipeline.probing.probe_once(runtime, kind, holding) for kind in runtime.probes)
        )
        return runtime

    def let_go(self, refs: Sequence[str]) -> None:
        """Projects that moved to another instance: their gauges are that instance's now."""
        for ref in refs:
            self.metrics.forget_project(ref)

    async def close(self) -> None:
        """Release every project probe's connections."""
        for runtime in self.projects.values():
            for probe in runtime.probes.values():
                await probe.aclose()
