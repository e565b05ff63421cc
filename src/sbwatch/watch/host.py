"""Memory, swap and CPU inside the watcher: the readings of each scrape, kept for the window.

Readings come from the metrics scrape (``node_memory_*``, ``node_vmstat_*``,
``node_cpu_seconds_total``) and are kept in memory only: after a start the window fills again
from the next scrapes. A compute change reboots the machine (its counters reset): the readings
of the old size are forgotten then, so the reset is not taken for an OOM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import HostSample
from sbwatch.core.tiers import CPUS, MEMORY_GB, Tier
from sbwatch.policy import cpu, memory
from sbwatch.store.base import StateStore
from sbwatch.watch.host_state import CpuSummary, HostReport, MemorySummary, host_slot
from sbwatch.watch.readings import keep_reading


@dataclass
class HostState:
    """The readings of one project's machine, oldest first."""

    memory_points: list[memory.MemoryPoint] = field(default_factory=list)
    cpu_points: list[cpu.CpuPoint] = field(default_factory=list)
    last_memory: memory.MemoryState | None = None
    last_cpu: cpu.CpuState | None = None
    restarts: memory.Restarts = field(default_factory=memory.Restarts)
    """What the memory readings kept so far say of restarts (each pair checked once)."""


class HostFlow:
    """Keeps the readings and assesses them for the diagnosis."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.states: dict[str, HostState] = {}
        self._saved: dict[str, HostReport] = {}

    def state(self, ref: str) -> HostState:
        """The project's readings (created empty)."""
        state = self.states.get(ref)
        if state is None:  # made only when missing: it is asked for several times a cycle
            state = self.states[ref] = HostState()
        return state

    def fold(self, ref: str, host: HostSample) -> None:
        """Keep one scrape's readings (a repeated or older one is left out)."""
        state = self.state(ref)
        keep_reading(state.memory_points, memory.point_of(host), memory.KEEP)
        keep_reading(state.cpu_points, cpu.point_of(host), cpu.KEEP)

    def forget(self, ref: str) -> None:
        """The machine changed size (a reboot): its readings start again."""
        self.states.pop(ref, None)

    def assess(
        self, ref: str, settings: ProjectSettings, now: datetime
    ) -> tuple[memory.MemoryState | None, cpu.CpuState | None]:
        """The memory and CPU state now, and their gauges."""
        state = self.state(ref)
        mem = memory.assess(state.memory_points, now, settings.memory.sustain, state.restarts)
        busy = cpu.assess(state.cpu_points, settings.cpu.sustain)
        state.last_memory, state.last_cpu = mem, busy
        if mem is not None:
            self.metrics.memory_used_ratio.labels(ref).set(mem.used_ratio)
            if mem.swap_ratio is not None:
                self.metrics.swap_used_ratio.labels(ref).set(mem.swap_ratio)
            eta = mem.oom_eta_s
            self.metrics.memory_oom_eta.labels(ref).set(math.inf if eta is None else eta)
        if busy is not None:
            self.metrics.cpu_busy_ratio.labels(ref).set(busy.busy_ratio)
        return mem, busy

    async def save(self, store: StateStore, ref: str, tier: Tier) -> None:
        """Keep the last summary in the store for ``sbwatch status`` (written when it changed)."""
        state = self.state(ref)
        report = host_doc(state.last_memory, state.last_cpu, tier)
        if report is not None and report != self._saved.get(ref):
            await host_slot(ref).write(store, report)
            self._saved[ref] = report


def host_doc(
    mem: memory.MemoryState | None, busy: cpu.CpuState | None, tier: Tier
) -> HostReport | None:
    """What ``sbwatch status`` shows of memory and the CPUs (None: nothing read yet)."""
    if mem is None and busy is None:
        return None
    summary = None
    if mem is not None:
        holds = memory.holding_size(mem.need_bytes, tier) if mem.short else None
        summary = MemorySummary(
            used_ratio=round(mem.used_ratio, 2),
            swap_ratio=None if mem.swap_ratio is None else round(mem.swap_ratio, 2),
            high_for_s=mem.high_for_s,
            held=mem.held,
            oom_eta_s=None if mem.oom_eta_s is None else round(mem.oom_eta_s / 60) * 60.0,
            oom_at=None if mem.oom_at is None else mem.oom_at.isoformat(),
            need_gb=round(mem.need_bytes / memory.GIB, 1),
            holds=None if holds is None else holds.value,
            holds_gb=None if holds is None else MEMORY_GB[holds],
        )
    busy_summary = None
    if busy is not None:
        more = cpu.more_cpus(tier) if busy.held else None
        busy_summary = CpuSummary(
            busy_ratio=round(busy.busy_ratio, 2),
            busy_for_s=busy.busy_for_s,
            held=busy.held,
            cpus=busy.cpus,
            more=None if more is None else more.value,
            more_cpus=None if more is None else CPUS[more],
        )
    return HostReport(tier.value, summary, busy_summary)
