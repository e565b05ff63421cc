"""The simulator's ground truth for memory, swap and CPU of one project's machine.

Written apart from sbwatch's policy (no shared code or constants):

- The machine holds its base use (the database, PostgREST, auth and the rest: about half of a
  1 GB machine, ``BASE_FIXED`` plus ``BASE_SHARE`` of the memory on bigger ones), the
  workload's ``work_gb`` and what a leak (``leak_gb_per_hour``) has piled up since the boot.
- What RAM cannot hold (``RAM_USABLE`` of it) lives in swap on the root disk. Pages move out as
  swap fills and are read back while it is in use (``THRASH_MBPS`` at full swap): both are IO
  of the root disk, which spends the instance's one IO budget.
- When RAM and swap are full the OOM killer strikes: the machine reboots (every counter starts
  again from zero, the leak with it), and the services are down for ``OOM_OUTAGE_S``.
- A CPU load (``load_cpus``, in CPUs) holds the CPUs busy; above ``SLOW_AT`` of them requests
  slow, above ``FAIL_AT`` they time out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sbwatch.sim.hardware import machine
from sbwatch.sim.model import FAIL_LATENCY_S, CpuCounters

GIB = 1024**3
MB = 1_000_000
PAGE = 4096
BASE_FIXED = 0.35 * GIB
BASE_SHARE = 0.10
BASE_MOST = 0.5
"""Base use is at most half the machine's memory (micro: 0.45 of its 1 GB)."""
RAM_USABLE = 0.97
"""The kernel keeps the rest: past it, pages go to swap."""
SWAP_GB = 1.0
"""The root disk's swap file, the same on every size."""
THRASH_MBPS = 6.0
"""Pages read back from a full swap, MB/s (in proportion to the swap in use)."""
OOM_OUTAGE_S = 120.0
"""The reboot after an OOM: every service down this long."""
SLOW_AT = 1.0
FAIL_AT = 1.2
"""CPU load over the machine's CPUs: slow at 1.0, timing out at 1.2."""
FAULTS_PER_PAGE = 1.0
"""A major page fault for each page read back from swap."""
STEP_S = 30.0
"""While memory moves or a load holds the CPUs, the world advances this finely."""


@dataclass
class HostModel:
    """One machine's memory, swap and CPU; times are the world's monotonic seconds."""

    size: str = "micro"
    work_bytes: float = 0.0
    leak_bytes_s: float = 0.0
    leaked_bytes: float = 0.0
    load_cpus: float = 0.0
    swap_in_pages: float = 0.0
    swap_out_pages: float = 0.0
    major_faults: float = 0.0
    oom_kills: float = 0.0
    down_until: float | None = None
    ooms: list[float] | None = None
    """When each OOM struck (every OOM of the run, for the truth)."""
    swap_mbps: float = 0.0
    """Swap IO over the last step, MB/s."""

    @property
    def memory_bytes(self) -> float:
        """The machine's RAM."""
        return _ram_bytes(self.size)

    @property
    def cpus(self) -> int:
        """The machine's CPUs."""
        return machine(self.size).vcpus

    @property
    def base_bytes(self) -> float:
        """What the machine holds with no workload."""
        return _base_bytes(self.size)

    @property
    def need_bytes(self) -> float:
        """Everything the machine holds now, RAM and swap."""
        return self.base_bytes + self.work_bytes + self.leaked_bytes

    @property
    def ram_cap(self) -> float:
        """What RAM holds before pages go to swap."""
        return RAM_USABLE * self.memory_bytes

    @property
    def swap_bytes(self) -> float:
        """Swap in use."""
        return min(SWAP_GB * GIB, max(0.0, self.need_bytes - self.ram_cap))

    @property
    def available_bytes(self) -> float:
        """RAM available (MemAvailable)."""
        return max(0.0, self.memory_bytes - min(self.need_bytes, self.ram_cap))

    @property
    def swap_free_bytes(self) -> float:
        """Swap free (SwapFree)."""
        return SWAP_GB * GIB - self.swap_bytes

    @property
    def active(self) -> bool:
        """Whether anything moves (a leak, swap in use, an outage): the world steps finely."""
        return self.leak_bytes_s > 0 or self.swap_bytes > 0 or self.down_until is not None

    def down(self, now: float) -> bool:
        """The machine is rebooting after an OOM."""
        return self.down_until is not None and now < self.down_until

    @property
    def cpu_saturation(self) -> float:
        """CPU load over the CPUs there are."""
        return self.load_cpus / self.cpus

    def cpu_failing(self) -> bool:
        """Requests time out for want of CPU."""
        return self.cpu_saturation >= FAIL_AT

    def advance(self, start: float, seconds: float) -> bool:
        """Run ``seconds`` from ``start``; True when an OOM struck (the caller reboots the rest
        of the machine: its disk and CPU counters)."""
        if self.down_until is not None and start + seconds >= self.down_until:
            self.down_until = None
        swap_before = self.swap_bytes
        self.leaked_bytes += self.leak_bytes_s * seconds
        if self.need_bytes > self.ram_cap + SWAP_GB * GIB:
            self._oom(start + seconds)
            return True
        out = max(0.0, self.swap_bytes - swap_before)
        back = THRASH_MBPS * MB * (self.swap_bytes / (SWAP_GB * GIB)) * seconds
        self.swap_out_pages += out / PAGE
        self.swap_in_pages += back / PAGE
        self.major_faults += back / PAGE * FAULTS_PER_PAGE
        self.swap_mbps = (out + back) / MB / seconds if seconds > 0 else 0.0
        return False

    def _oom(self, at: float) -> None:
        self.ooms = [*(self.ooms or []), at]
        self.leaked_bytes = 0.0
        self.swap_in_pages = self.swap_out_pages = self.major_faults = self.oom_kills = 0.0
        self.swap_mbps = 0.0
        self.down_until = at + OOM_OUTAGE_S

    def resize(self, size: str) -> None:
        """A compute change reboots onto ``size``: the leak and the counters start again."""
        self.size = size
        self.leaked_bytes = 0.0
        self.swap_in_pages = self.swap_out_pages = self.major_faults = self.oom_kills = 0.0
        self.swap_mbps = 0.0

    def busy_seconds(self, seconds: float) -> float:
        """CPU-seconds the load keeps busy in ``seconds`` (all CPUs)."""
        return min(self.load_cpus, float(self.cpus)) * seconds

    def cpu_wait_s(self) -> float:
        """What a request waits for a CPU: nothing under ``SLOW_AT``, the edge's timeout from
        ``FAIL_AT`` on, rising between."""
        saturation = self.cpu_saturation
        if saturation < SLOW_AT:
            return 0.0
        if saturation >= FAIL_AT:
            return FAIL_LATENCY_S
        return 1.0 + (FAIL_LATENCY_S - 2.0) * (saturation - SLOW_AT) / (FAIL_AT - SLOW_AT)

    def account_cpu(self, cpu: CpuCounters, idle_added: float, seconds: float) -> None:
        """Move the load's CPU-seconds of ``seconds`` from idle to user on the machine's
        counters (the IO model counted the step's idle time: ``idle_added``)."""
        moved = min(max(0.0, idle_added), self.busy_seconds(seconds))
        cpu.idle -= moved
        cpu.user += moved

    @property
    def memory_short(self) -> bool:
        """The truth's own line: RAM over three quarters held, or swap over seven tenths."""
        return (
            min(self.need_bytes, self.ram_cap) > 0.75 * self.memory_bytes
            or self.swap_bytes > 0.7 * SWAP_GB * GIB
        )


@cache
def _ram_bytes(size: str) -> float:
    """A size's RAM, looked up once: the world reads it several times a simulated second."""
    return machine(size).memory_gb * GIB


@cache
def _base_bytes(size: str) -> float:
    """What a size's machine holds with no workload (see the module doc), computed once."""
    ram = _ram_bytes(size)
    return min(BASE_MOST * ram, BASE_FIXED + BASE_SHARE * ram)
