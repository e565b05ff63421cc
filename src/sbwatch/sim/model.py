"""The simulator's ground truth for disk IO: an EBS-style burst bucket per project."""

from __future__ import annotations

from dataclasses import dataclass

from sbwatch.sim.hardware import BURST_BALANCE_S, Machine, machine

MB = 1_000_000.0
OP_BYTES = 128 * 1024
"""One IO operation moves 128 KiB, so ops = bytes / 131072."""
OVERLOAD_AFTER_S = 180.0
"""Empty bucket with demand at twice the baseline for this long: the services fail."""
OVERLOAD_FACTOR = 2.0
_EPS = 1e-9


@dataclass
class _Bucket:
    """One token bucket: capacity, level, earning at ``baseline`` per second."""

    capacity: float
    level: float
    baseline: float
    maximum: float

    @property
    def empty(self) -> bool:
        """No token left (or no bucket at all on sizes without a budget)."""
        return self.capacity <= 0 or self.level <= _EPS

    @property
    def ratio(self) -> float:
        """Fill ratio, 0..1; 1 when there is no budget to spend."""
        return 1.0 if self.capacity <= 0 else min(1.0, max(0.0, self.level / self.capacity))

    def cap(self) -> float:
        """The rate allowed now: the maximum while tokens remain, the baseline once empty."""
        if self.capacity <= 0:
            return self.maximum
        return self.maximum if not self.empty else self.baseline

    def seconds_to_empty(self, rate: float) -> float:
        """How long until the bucket empties at ``rate``; inf when it does not drain."""
        net = self.baseline - rate
        if self.capacity <= 0 or net >= 0 or self.empty:
            return float("inf")
        return self.level / -net

    def spend(self, rate: float, seconds: float) -> None:
        """Earn at the baseline and spend at ``rate`` for ``seconds``, clamped."""
        if self.capacity > 0:
            net = self.baseline - rate
            self.level = min(self.capacity, max(0.0, self.level + net * seconds))


class DiskIoModel:
    """EBS-style burst bucket for one project; time advances only through advance()."""

    def __init__(self, tier: str, budget_pct: float = 100.0) -> None:
        self._read_demand = 0.0
        self._write_demand = 0.0
        self.read_bytes_total = 0.0
        self.written_bytes_total = 0.0
        self.reads_completed_total = 0.0
        self.writes_completed_total = 0.0
        self.iowait_seconds_total = 0.0
        self.cpu_seconds_total = 0.0
        self.idle_seconds_total = 0.0
        self.user_seconds_total = 0.0
        self.io_time_seconds_total = 0.0
        self._starved_s = 0.0
        self._set_buckets(tier, budget_pct)

    def _set_buckets(self, tier: str, budget_pct: float) -> None:
        self.tier = tier
        self.machine: Machine = machine(tier)
        fill = min(100.0, max(0.0, budget_pct)) / 100.0
        sustained = self.machine.sustained_bytes_s / MB
        burst = self.machine.burst_bytes_s / MB
        mb_cap = (burst - sustained) * BURST_BALANCE_S
        ops_cap = (self.machine.burst_iops - self.machine.sustained_iops) * BURST_BALANCE_S
        self._mb = _Bucket(mb_cap, mb_cap * fill, sustained, burst)
        self._ops = _Bucket(
            ops_cap, ops_cap * fill, self.machine.sustained_iops, self.machine.burst_iops
        )
        self._starved_s = 0.0

    @property
    def cpus(self) -> int:
        """CPU count of the machine."""
        return self.machine.vcpus

    def set_demand(self, read_mbps: float, write_mbps: float) -> None:
        """The workload's wish from now on, in MB/s."""
        self._read_demand = max(0.0, read_mbps)
        self._write_demand = max(0.0, write_mbps)
        if not self._starving():
            self._starved_s = 0.0

    def set_tier(self, tier: str) -> None:
        """Move to another size; a tier change starts with a full bucket."""
        self._set_buckets(tier, 100.0)

    @property
    def demand_mbps(self) -> float:
        """Read plus write demand, MB/s."""
        return self._read_demand + self._write_demand

    def _actual_total(self) -> float:
        ops_cap_mbps = self._ops.cap() * OP_BYTES / MB
        return min(self.demand_mbps, self._mb.cap(), ops_cap_mbps)

    @property
    def actual_read_mbps(self) -> float:
        """Read throughput served now, MB/s."""
        demand = self.demand_mbps
        return 0.0 if demand <= 0 else self._actual_total() * self._read_demand / demand

    @property
    def actual_write_mbps(self) -> float:
        """Write throughput served now, MB/s."""
        demand = self.demand_mbps
        return 0.0 if demand <= 0 else self._actual_total() * self._write_demand / demand

    @property
    def budget_ratio(self) -> float:
        """Remaining budget, 0..1: the lower of the throughput and IOPS buckets."""
        return min(self._mb.ratio, self._ops.ratio)

    @property
    def throttled(self) -> bool:
        """Demand is being cut down to the baseline by an empty bucket."""
        return self._actual_total() < self.demand_mbps - _EPS

    def _starving(self) -> bool:
        empty = self._mb.empty or self._ops.empty
        has_budget = self._mb.capacity > 0
        return has_budget and empty and self.demand_mbps >= OVERLOAD_FACTOR * self._mb.baseline

    @property
    def overloaded(self) -> bool:
        """Bucket empty and demand at 2x baseline for 3 minutes (the services then fail)."""
        return self._starving() and self._starved_s >= OVERLOAD_AFTER_S - _EPS

    def advance(self, seconds: float) -> None:
        """Integrate ``seconds`` of constant demand exactly (split where a bucket empties)."""
        remaining = max(0.0, seconds)
        for _ in range(8):
            if remaining <= 0:
                break
            rate = self._actual_total()
            ops_rate = rate * MB / OP_BYTES
            step = min(
                remaining, self._mb.seconds_to_empty(rate), self._ops.seconds_to_empty(ops_rate)
            )
            self._integrate(rate, ops_rate, step)
            remaining -= step
        if remaining > 0:
            self._integrate(self._actual_total(), self._actual_total() * MB / OP_BYTES, remaining)

    def _integrate(self, rate: float, ops_rate: float, seconds: float) -> None:
        if self._starving():
            self._starved_s += seconds
        self._mb.spend(rate, seconds)
        self._ops.spend(ops_rate, seconds)
        if self._mb.level <= _EPS:
            self._mb.level = 0.0
        if self._ops.level <= _EPS:
            self._ops.level = 0.0
        demand = self.demand_mbps
        share = (self._read_demand / demand) if demand > 0 else 0.0
        moved = rate * MB * seconds
        self.read_bytes_total += moved * share
        self.written_bytes_total += moved * (1 - share)
        self.reads_completed_total += moved * share / OP_BYTES
        self.writes_completed_total += moved * (1 - share) / OP_BYTES
        self._account_cpu(rate, demand, seconds)

    def _account_cpu(self, rate: float, demand: float, seconds: float) -> None:
        maximum = self._mb.maximum
        cpu_total = self.cpus * seconds
        busy = min(0.9, 0.05 + 0.3 * rate / maximum)
        starved = (1 - rate / demand) if demand > rate + _EPS else 0.0
        iowait = min(0.95 - busy, 0.01 + 0.85 * starved)
        self.cpu_seconds_total += cpu_total
        self.user_seconds_total += cpu_total * busy
        self.iowait_seconds_total += cpu_total * iowait
        self.idle_seconds_total += cpu_total * (1 - busy - iowait)
        self.io_time_seconds_total += seconds * min(1.0, rate / maximum + starved)
