"""The simulator's ground truth for disk IO: one instance, two disks, two burst balances.

Written apart from sbwatch's estimator (no shared code or constants), and with parameters the
daemon cannot read: it sees only what the metrics endpoint publishes.

- True limits: the machine table's figures times ``true_limits_factor`` (1.0 or more; the
  provider publishes minimums). Baseline, burst and so the balance all scale with it.
- Two disks, one budget: the root disk (nvme0n1, with swap) takes ``ROOT_SHARE`` of the IO and
  /data (nvme1n1) the rest; both spend the same two balances.
- Two balances, bytes and IO operations, each a token bucket of capacity (burst - baseline) x
  ``BURST_BALANCE_S``, earning at the baseline and spending at the rate served. The workload asks
  for MB/s and IOPS separately (IOPS default to the bytes at ``DEFAULT_OP_BYTES`` an operation,
  large sequential IO); while a balance lasts its rate may reach the burst figure, once it is
  empty the baseline. Whichever limit binds holds the whole workload back, so small random
  reads can run the IOPS balance dry while MB/s stays low.
- Counters restart at 0 on a tier change (the instance reboots onto the new size, with full
  balances).
- Published once a minute: ``published`` is the reading frozen at the last whole minute of the
  world's clock, so faster scrapes repeat a sample (``publish_every_s`` = 0 publishes every
  change at once, for live tests that are not about sampling).
- Throttled services slow down before they fail. Demand over what the disks serve builds a
  queue: the extra delay tends to ``SLOW_S_PER_EXCESS`` x (demand / capacity - 1), building up
  with a time constant of ``QUEUE_BUILD_S`` (draining with ``QUEUE_DRAIN_S``). REST and the
  database feel all of it, auth's health check ``AUTH_SHARE`` of it; a request that would take
  ``FAIL_LATENCY_S`` or more fails (REST 522/544, database connect timeouts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from sbwatch.sim.hardware import BURST_BALANCE_S, Machine, machine

MB = 1_000_000.0
DEFAULT_OP_BYTES = 128 * 1024
"""An IO operation of a workload that gives no IOPS moves 128 KiB (large sequential IO)."""
ROOT_DEVICE = "nvme0n1"
DATA_DEVICE = "nvme1n1"
DEVICES = (ROOT_DEVICE, DATA_DEVICE)
ROOT_SHARE = 0.08
"""The root disk's part of every byte and operation (system, logs and swap); /data has the rest."""
PUBLISH_EVERY_S = 60.0
BASE_LATENCY_S = 0.03
"""What a request takes when the disks keep up."""
SLOW_S_PER_EXCESS = 20.0
"""Extra delay, in the steady state, per unit of demand over capacity (twice it: 20 s, failing)."""
QUEUE_BUILD_S = 300.0
QUEUE_DRAIN_S = 60.0
FAIL_LATENCY_S = 20.0
"""A request that would take this long fails: the edge answers 522/544, connections time out."""
AUTH_SHARE = 0.1
"""Auth's health check touches the disk little: it feels this share of the queue."""
SERVICES = ("db", "rest", "auth")
_EPS = 1e-9
_DEVICE_SHARES = ((ROOT_DEVICE, ROOT_SHARE, ROOT_SHARE), (DATA_DEVICE, 1.0 - ROOT_SHARE, 1.0))
"""Each disk, its part of the IO and of the busy time (the data disk's busy time is whole)."""


@dataclass
class _Balance:
    """One burst balance: capacity, level, and the rates it allows."""

    capacity: float
    level: float
    baseline: float
    burst: float

    @property
    def empty(self) -> bool:
        """Nothing left to burst with (sizes without a balance are never empty)."""
        return self.capacity > 0 and self.level <= _EPS

    @property
    def ratio(self) -> float:
        """Fill ratio, 0..1; 1 when the size has no balance."""
        return 1.0 if self.capacity <= 0 else min(1.0, max(0.0, self.level / self.capacity))

    @property
    def allowed(self) -> float:
        """The rate served at most now: the burst while the balance lasts, else the baseline."""
        return self.baseline if self.empty else self.burst

    def seconds_to_empty(self, rate: float) -> float:
        """How long until the balance is empty at ``rate``; inf when it does not drain."""
        net = rate - self.baseline
        if self.capacity <= 0 or net <= 0 or self.empty:
            return math.inf
        return self.level / net

    def run(self, rate: float, seconds: float) -> None:
        """Earn at the baseline and spend at ``rate`` for ``seconds``."""
        if self.capacity > 0:
            level = self.level + (self.baseline - rate) * seconds
            self.level = 0.0 if level <= _EPS else min(self.capacity, level)


@dataclass
class DiskCounters:
    """node_exporter's counters of one disk."""

    read_bytes: float = 0.0
    written_bytes: float = 0.0
    reads_completed: float = 0.0
    writes_completed: float = 0.0
    io_time_seconds: float = 0.0

    def copy(self) -> DiskCounters:
        """The counters as they are now (``dataclasses.replace`` without its field lookups)."""
        return DiskCounters(
            self.read_bytes,
            self.written_bytes,
            self.reads_completed,
            self.writes_completed,
            self.io_time_seconds,
        )


@dataclass
class CpuCounters:
    """CPU seconds of the whole instance, by mode (system is the rest)."""

    total: float = 0.0
    user: float = 0.0
    iowait: float = 0.0
    idle: float = 0.0

    def copy(self) -> CpuCounters:
        """The counters as they are now."""
        return CpuCounters(self.total, self.user, self.iowait, self.idle)

    @property
    def system(self) -> float:
        """Seconds that are neither user, iowait nor idle."""
        return max(0.0, self.total - self.user - self.iowait - self.idle)


@dataclass(frozen=True)
class Reading:
    """What the metrics endpoint publishes: the counters and gauges at one whole minute."""

    disks: dict[str, DiskCounters]
    cpu: CpuCounters
    io_now: dict[str, float]
    cpus: int
    memory_bytes: float


@dataclass(frozen=True)
class Demand:
    """What the workload asks of the disks (its totals computed once: the model reads them at
    every step)."""

    read_mbps: float = 0.0
    write_mbps: float = 0.0
    read_iops: float | None = None
    write_iops: float | None = None

    @cached_property
    def mbps(self) -> float:
        """Bytes asked for, MB/s."""
        return self.read_mbps + self.write_mbps

    @cached_property
    def reads(self) -> float:
        """Read operations asked for, per second."""
        return self.read_mbps * MB / DEFAULT_OP_BYTES if self.read_iops is None else self.read_iops

    @cached_property
    def writes(self) -> float:
        """Write operations asked for, per second."""
        if self.write_iops is None:
            return self.write_mbps * MB / DEFAULT_OP_BYTES
        return self.write_iops

    @cached_property
    def iops(self) -> float:
        """Operations asked for, per second."""
        return self.reads + self.writes


@dataclass
class _Segment:
    """A stretch of constant demand and limits: what is served, and how far over capacity."""

    served: float
    """Fraction of the demand served, 0..1."""
    pressure: float
    """Demand over what can be served now (1 or less: the disks keep up)."""


class DiskIoModel:
    """One project's instance; time moves only through :meth:`advance`.

    ``minute_phase_s``: how far into a wall-clock minute the model starts, so that publishing
    follows the world's whole minutes; ``publish_every_s``: the endpoint's update period.
    """

    def __init__(
        self,
        tier: str,
        budget_pct: float = 100.0,
        *,
        true_limits_factor: float = 1.0,
        minute_phase_s: float = 0.0,
        publish_every_s: float = PUBLISH_EVERY_S,
    ) -> None:
        if not true_limits_factor >= 1.0:  # NaN included
            raise ValueError("true_limits_factor: 1.0 or more (the published limits are minimums)")
        if publish_every_s < 0:
            raise ValueError("publish_every_s: 0 (every change at once) or more")
        self.true_limits_factor = true_limits_factor
        self.publish_every_s = publish_every_s
        self.minute_phase_s = minute_phase_s % publish_every_s if publish_every_s else 0.0
        self.demand = Demand()
        self.failing_seconds_total = 0.0
        """Seconds spent with REST and the database failing from the queue."""
        self.restarts = 0
        self.cpu_wait_s = 0.0
        """What a request waits for a CPU now (sim/host.py sets it), seconds."""
        self._t = 0.0
        self._boot(tier, budget_pct)
        self._publish()

    def _boot(self, tier: str, budget_pct: float) -> None:
        self.tier = tier
        self.machine: Machine = machine(tier)
        factor = self.true_limits_factor
        fill = min(100.0, max(0.0, budget_pct)) / 100.0
        base_mb = self.machine.sustained_bytes_s / MB * factor
        burst_mb = self.machine.burst_bytes_s / MB * factor
        base_ops = self.machine.sustained_iops * factor
        burst_ops = self.machine.burst_iops * factor
        mb_cap = (burst_mb - base_mb) * BURST_BALANCE_S
        ops_cap = (burst_ops - base_ops) * BURST_BALANCE_S
        self.bytes_balance = _Balance(mb_cap, mb_cap * fill, base_mb, burst_mb)
        self.ops_balance = _Balance(ops_cap, ops_cap * fill, base_ops, burst_ops)
        self.disks: dict[str, DiskCounters] = {device: DiskCounters() for device in DEVICES}
        self.cpu = CpuCounters()
        self.queue_s = 0.0
        """The extra delay requests meet now, seconds."""

    # -- the workload and the size ------------------------------------------------------------

    def set_demand(
        self,
        read_mbps: float,
        write_mbps: float = 0.0,
        read_iops: float | None = None,
        write_iops: float | None = None,
    ) -> None:
        """The workload's wish from now on: MB/s, and IOPS (None: the bytes at 128 KiB an op)."""

        def clean(value: float | None) -> float | None:
            return None if value is None else max(0.0, value)

        self.demand = Demand(
            max(0.0, read_mbps), max(0.0, write_mbps), clean(read_iops), clean(write_iops)
        )

    def reboot(self) -> None:
        """The machine restarts on its size (an OOM): every counter back to 0, the balances
        (the volume's) as they were."""
        self.disks = {device: DiskCounters() for device in DEVICES}
        self.cpu = CpuCounters()
        self.queue_s = 0.0
        self.restarts += 1
        if not self.publish_every_s:
            self._publish()

    def set_tier(self, tier: str) -> None:
        """Reboot onto another size: full balances, every counter back to 0."""
        self._boot(tier, 100.0)
        self.restarts += 1
        if not self.publish_every_s:
            self._publish()

    @property
    def cpus(self) -> int:
        """CPU count of the machine."""
        return self.machine.vcpus

    # -- what is true now ---------------------------------------------------------------------

    @property
    def demand_mbps(self) -> float:
        """Read plus write demand, MB/s."""
        return self.demand.mbps

    def _segment(self) -> _Segment:
        d = self.demand
        pressure = max(
            d.mbps / self.bytes_balance.allowed if d.mbps > 0 else 0.0,
            d.iops / self.ops_balance.allowed if d.iops > 0 else 0.0,
        )
        return _Segment(served=1.0 if pressure <= 1.0 else 1.0 / pressure, pressure=pressure)

    @property
    def actual_read_mbps(self) -> float:
        """Read throughput served now, MB/s."""
        return self.demand.read_mbps * self._segment().served

    @property
    def actual_write_mbps(self) -> float:
        """Write throughput served now, MB/s."""
        return self.demand.write_mbps * self._segment().served

    @property
    def actual_iops(self) -> float:
        """Operations served now, per second."""
        return self.demand.iops * self._segment().served

    @property
    def budget_ratio(self) -> float:
        """Remaining budget, 0..1: the lower of the bytes and IOPS balances."""
        return min(self.bytes_balance.ratio, self.ops_balance.ratio)

    @property
    def draining(self) -> bool:
        """The workload asks for more than a balance earns: that balance is going down."""
        d = self.demand
        return any(
            balance.capacity > 0 and rate > balance.baseline
            for balance, rate in ((self.bytes_balance, d.mbps), (self.ops_balance, d.iops))
        )

    @property
    def throttled(self) -> bool:
        """The disks serve less than the workload asks."""
        return self._segment().served < 1.0 - _EPS

    @property
    def limits(self) -> dict[str, float]:
        """The true limits (hidden from the daemon): baseline and burst, MB/s and IOPS."""
        return {
            "baseline_mbps": self.bytes_balance.baseline,
            "burst_mbps": self.bytes_balance.burst,
            "baseline_iops": self.ops_balance.baseline,
            "burst_iops": self.ops_balance.burst,
        }

    def latency_s(self, service: str) -> float:
        """What one request to ``service`` (db, rest or auth) takes now, seconds."""
        share = AUTH_SHARE if service == "auth" else 1.0
        return BASE_LATENCY_S + share * self.queue_s + self.cpu_wait_s

    def failing(self, service: str) -> bool:
        """Whether requests to ``service`` fail now (they would take FAIL_LATENCY_S or more)."""
        return self.latency_s(service) >= FAIL_LATENCY_S - _EPS

    @property
    def read_bytes_total(self) -> float:
        """Bytes read from both disks since the last restart (live, not the published value)."""
        return sum(d.read_bytes for d in self.disks.values())

    @property
    def written_bytes_total(self) -> float:
        """Bytes written to both disks since the last restart."""
        return sum(d.written_bytes for d in self.disks.values())

    @property
    def reads_completed_total(self) -> float:
        """Read operations on both disks since the last restart."""
        return sum(d.reads_completed for d in self.disks.values())

    @property
    def writes_completed_total(self) -> float:
        """Write operations on both disks since the last restart."""
        return sum(d.writes_completed for d in self.disks.values())

    # -- time ---------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` on at constant demand, publishing at the last whole minute passed."""
        seconds = max(0.0, seconds)
        end = self._t + seconds
        every = self.publish_every_s
        if not every:
            self._run(seconds)
            self._publish()
            self._t = end
            return
        minute = math.floor((end + self.minute_phase_s) / every + _EPS)
        boundary = minute * every - self.minute_phase_s
        if self._t < boundary <= end:
            self._run(boundary - self._t)
            self._publish()
            self._run(end - boundary)
        else:
            self._run(seconds)
        self._t = end

    def _publish(self) -> None:
        depth = 1.0 + 31.0 * min(1.0, max(0.0, self._segment().pressure - 1.0))
        self.published = Reading(
            disks={name: counters.copy() for name, counters in self.disks.items()},
            cpu=self.cpu.copy(),
            io_now={ROOT_DEVICE: ROOT_SHARE * depth, DATA_DEVICE: (1 - ROOT_SHARE) * depth},
            cpus=self.cpus,
            memory_bytes=self.machine.memory_gb * 1024**3,
        )

    def _run(self, seconds: float) -> None:
        """Integrate exactly: split where a balance empties or the queue crosses the failure."""
        remaining = seconds
        for _ in range(16):
            if remaining <= _EPS:
                return
            segment = self._segment()
            queue = self._queue_target(segment)
            bytes_rate = self.demand.mbps * segment.served
            ops_rate = self.demand.iops * segment.served
            step = min(
                remaining,
                self.bytes_balance.seconds_to_empty(bytes_rate),
                self.ops_balance.seconds_to_empty(ops_rate),
                self._seconds_to_cross(queue),
            )
            self._integrate(segment, queue, bytes_rate, ops_rate, max(step, 0.0))
            remaining -= step
        if remaining > _EPS:  # pragma: no cover - more splits than a segment can have
            segment = self._segment()
            rates = (self.demand.mbps * segment.served, self.demand.iops * segment.served)
            self._integrate(segment, self._queue_target(segment), *rates, remaining)

    def _queue_target(self, segment: _Segment) -> tuple[float, float]:
        target = SLOW_S_PER_EXCESS * max(0.0, segment.pressure - 1.0)
        return target, QUEUE_BUILD_S if target > self.queue_s else QUEUE_DRAIN_S

    def _seconds_to_cross(self, queue: tuple[float, float]) -> float:
        """When the queue crosses the failure threshold going to ``queue`` (its target and
        time constant, ``_queue_target``); inf if never."""
        target, tau = queue
        threshold = FAIL_LATENCY_S - BASE_LATENCY_S
        start = self.queue_s
        if (start - threshold) * (target - threshold) >= 0 or abs(start - target) <= _EPS:
            return math.inf
        return -tau * math.log((threshold - target) / (start - target))

    def _integrate(
        self,
        segment: _Segment,
        queue: tuple[float, float],
        bytes_rate: float,
        ops_rate: float,
        dt: float,
    ) -> None:
        """Run ``dt`` seconds of one segment, the queue going to ``queue`` (``_queue_target``)."""
        target, tau = queue
        before = self.queue_s
        middle = target + (before - target) * math.exp(-dt / 2 / tau)
        if BASE_LATENCY_S + middle >= FAIL_LATENCY_S:
            self.failing_seconds_total += dt
        self.queue_s = target + (before - target) * math.exp(-dt / tau)
        self.bytes_balance.run(bytes_rate, dt)
        self.ops_balance.run(ops_rate, dt)
        d = self.demand
        read_share = d.read_mbps / d.mbps if d.mbps > 0 else 0.0
        read_ops_share = d.reads / d.iops if d.iops > 0 else 0.0
        moved = bytes_rate * MB * dt
        ops = ops_rate * dt
        utilisation = max(
            bytes_rate / self.bytes_balance.burst, ops_rate / self.ops_balance.burst, 0.0
        )
        starved = 1.0 - segment.served
        disks = self.disks
        for device, share, busy_share in _DEVICE_SHARES:
            disk = disks[device]
            disk.read_bytes += moved * read_share * share
            disk.written_bytes += moved * (1 - read_share) * share
            disk.reads_completed += ops * read_ops_share * share
            disk.writes_completed += ops * (1 - read_ops_share) * share
            busy = (utilisation + starved) * busy_share
            disk.io_time_seconds += dt * min(1.0, busy)
        self._account_cpu(segment, utilisation, dt)

    def _account_cpu(self, segment: _Segment, utilisation: float, dt: float) -> None:
        total = self.cpus * dt
        busy = min(0.9, 0.05 + 0.3 * utilisation)
        starved = 1.0 - segment.served
        iowait = min(0.95 - busy, 0.01 + 0.85 * starved)
        self.cpu.total += total
        self.cpu.user += total * busy
        self.cpu.iowait += total * iowait
        self.cpu.idle += total * (1 - busy - iowait)
