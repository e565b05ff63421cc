"""The simulator's ground truth for disk space: ``/data`` filling, the provider growing it, the
quota of disk changes, and read-only mode.

Written apart from sbwatch's forecast (no shared code or constants):

- The workload adds ``fill_bytes_s`` to ``/data`` (0: nothing grows).
- At ``GROW_AT`` full the provider grows the disk by half (at most ``MAX_STEP_GB``; a fifth at a
  terabyte and more), when fewer than ``QUOTA`` disk changes fall in the last ``QUOTA_S``
  seconds, and (spend cap on) while the disk is under ``CAPPED_GB``. While the disk stays that
  full it grows the moment the quota frees.
- At ``LOCK_AT`` full with no growth possible the database goes read-only: writes fail, so
  nothing more is added until the disk grows.
- A ``POST .../config/disk`` changes the size too, and counts toward the quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GIB = 1024**3
GROW_AT = 0.90
LOCK_AT = 0.95
STEP = 0.5
MAX_STEP_GB = 200
BIG_GB = 1024
BIG_STEP = 0.2
QUOTA = 4
QUOTA_S = 86_400.0
CAPPED_GB = 8
LOCK_MARGIN = 16 * 1024**2
"""The provider's check notices the line crossed a little after: 16 MiB past it."""
_EPS = 1e-6


@dataclass
class DiskSpace:
    """One project's ``/data``; times are the world's monotonic seconds."""

    size_gb: int = 8
    used_bytes: float = 0.0
    fill_bytes_s: float = 0.0
    spend_cap: bool = False
    kind: str = "gp3"
    iops: int = 3000
    throughput_mibps: int = 125
    changes: list[float] = field(default_factory=list)
    """When each disk change was made (autoscale or POST)."""
    grown: list[dict[str, object]] = field(default_factory=list)
    """Every change: when, from, to, and by whom ("autoscale" or "api")."""
    read_only_since: float | None = None
    read_only_s: float = 0.0
    read_only_spans: list[tuple[float, float | None]] = field(default_factory=list)
    """(start, end) of each read-only stretch (end None: still read-only)."""
    t: float = 0.0

    @property
    def size_bytes(self) -> float:
        """The filesystem's size."""
        return self.size_gb * GIB

    @property
    def read_only(self) -> bool:
        """The database refuses writes now."""
        return self.read_only_since is not None

    @property
    def _lock_line(self) -> float:
        return LOCK_AT * self.size_bytes + LOCK_MARGIN

    @property
    def used_ratio(self) -> float:
        """The used share of ``/data``."""
        return self.used_bytes / self.size_bytes

    def quota_left(self, at: float) -> int:
        """Disk changes still allowed at ``at``."""
        return QUOTA - sum(1 for c in self.changes if at - QUOTA_S < c <= at)

    def _quota_frees(self, at: float) -> float:
        recent = sorted(c for c in self.changes if at - QUOTA_S < c <= at)
        return recent[-QUOTA] + QUOTA_S if len(recent) >= QUOTA else at

    def _may_grow(self, at: float) -> bool:
        capped = self.spend_cap and self.size_gb >= CAPPED_GB
        return not capped and self.quota_left(at) > 0

    def _next_size(self) -> int:
        if self.size_gb >= BIG_GB:
            size = math.ceil(self.size_gb * (1 + BIG_STEP))
        else:
            size = math.ceil(self.size_gb + min(MAX_STEP_GB, self.size_gb * STEP))
        return min(size, CAPPED_GB) if self.spend_cap else size

    def change(self, at: float, size_gb: int, by: str) -> None:
        """The disk becomes ``size_gb`` at ``at`` (one change of the quota)."""
        self.grown.append({"at_s": round(at, 1), "from": self.size_gb, "to": size_gb, "by": by})
        self.size_gb = size_gb
        self.changes.append(at)
        self._settle(at)

    def _settle(self, at: float) -> None:
        """Grow when due and allowed; go read-only, or leave it, as the ratio says."""
        if self.used_ratio >= GROW_AT - _EPS and self._may_grow(at):
            self.change(at, self._next_size(), "autoscale")
            return
        locked = self.used_bytes >= self._lock_line - _EPS
        if locked and self.read_only_since is None:
            self.read_only_since = at
            self.read_only_spans.append((at, None))
        elif not locked and self.read_only_since is not None:
            self.read_only_s += at - self.read_only_since
            self.read_only_spans[-1] = (self.read_only_since, at)
            self.read_only_since = None

    def advance(self, start: float, end: float) -> None:
        """Run from ``start`` to ``end`` (monotonic seconds), exactly at every threshold."""
        if self._still():
            self.t = max(self.t, end)
            return
        t = max(start, self.t)
        self._settle(t)
        for _ in range(64):
            if end - t <= _EPS:
                break
            stop = min(end, self._next_event(t))
            if not self.read_only:
                self.used_bytes += self.fill_bytes_s * (stop - t)
            t = stop
            self._settle(t)
        self.t = max(self.t, end)

    def _still(self) -> bool:
        """Nothing fills ``/data`` and it is below every line: time changes nothing here."""
        if self.fill_bytes_s != 0.0 or self.read_only:
            return False
        return self.used_ratio < GROW_AT - _EPS and self.used_bytes < self._lock_line - _EPS

    def _next_event(self, t: float) -> float:
        """The next moment something can change: a threshold crossed or the quota freeing."""
        times = [math.inf]
        if self.fill_bytes_s > 0 and not self.read_only:
            for line in (GROW_AT * self.size_bytes, self._lock_line):
                gap = line - self.used_bytes
                if gap > _EPS:
                    times.append(t + gap / self.fill_bytes_s)
        if self.used_ratio >= GROW_AT - _EPS and self.quota_left(t) <= 0:
            times.append(self._quota_frees(t))
        return max(t, min(times))

    def read_only_time(self, until: float) -> float:
        """Seconds spent read-only up to ``until``."""
        extra = 0.0 if self.read_only_since is None else max(0.0, until - self.read_only_since)
        return self.read_only_s + extra
