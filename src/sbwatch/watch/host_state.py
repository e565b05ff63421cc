"""Where the daemon keeps its last memory and CPU summary for ``sbwatch status`` (light: the
status command imports it without the metrics or probe libraries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sbwatch.core.results import plain
from sbwatch.store.base import StateStore
from sbwatch.store.docs import Slot, field, optional, reading, slot

HOST_NAMESPACE = "host"
"""Store state namespace of the last memory and CPU summary, one document a project."""

_NUMBER = (int, float)


@dataclass(frozen=True, slots=True)
class MemorySummary:
    """What status shows of memory: the ratios, how long it has been high, the time to an OOM
    and the size that holds what is in use (numbers as stored, already rounded)."""

    used_ratio: float
    swap_ratio: float | None
    high_for_s: float
    held: bool
    oom_eta_s: float | None
    oom_at: str | None
    """ISO time of the OOM seen, as stored."""
    need_gb: float
    holds: str | None
    """The size that holds the memory in use (a tier's value)."""
    holds_gb: float | None

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return plain(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MemorySummary:
        """The inverse of :meth:`to_doc`."""
        return cls(
            field(doc, "used_ratio", *_NUMBER),
            optional(doc, "swap_ratio", *_NUMBER),
            field(doc, "high_for_s", *_NUMBER),
            field(doc, "held", bool),
            optional(doc, "oom_eta_s", *_NUMBER),
            optional(doc, "oom_at", str),
            field(doc, "need_gb", *_NUMBER),
            optional(doc, "holds", str),
            optional(doc, "holds_gb", *_NUMBER),
        )


@dataclass(frozen=True, slots=True)
class CpuSummary:
    """What status shows of the CPUs: how busy, for how long, and the size with more."""

    busy_ratio: float
    busy_for_s: float
    held: bool
    cpus: int
    more: str | None
    """The size with more CPUs (a tier's value), when busy held."""
    more_cpus: int | None

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return plain(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> CpuSummary:
        """The inverse of :meth:`to_doc`."""
        return cls(
            field(doc, "busy_ratio", *_NUMBER),
            field(doc, "busy_for_s", *_NUMBER),
            field(doc, "held", bool),
            field(doc, "cpus", int),
            optional(doc, "more", str),
            optional(doc, "more_cpus", int),
        )


@dataclass(frozen=True, slots=True)
class HostReport:
    """The last memory and CPU summary of a project's machine, and its size (a tier's value)."""

    tier: str
    memory: MemorySummary | None
    cpu: CpuSummary | None

    def to_doc(self) -> dict[str, Any]:
        """``{"tier": "micro", "memory": {...} | None, "cpu": {...} | None}``."""
        return {
            "tier": self.tier,
            "memory": None if self.memory is None else self.memory.to_doc(),
            "cpu": None if self.cpu is None else self.cpu.to_doc(),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> HostReport:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""

        def build() -> HostReport:
            mem = optional(doc, "memory", dict)
            busy = optional(doc, "cpu", dict)
            return cls(
                field(doc, "tier", str),
                None if mem is None else MemorySummary.from_doc(mem),
                None if busy is None else CpuSummary.from_doc(busy),
            )

        return reading("host report", build)


def host_slot(ref: str) -> Slot[HostReport]:
    """Where a project's last memory and CPU summary is kept."""
    return slot(HOST_NAMESPACE, ref, HostReport)


async def host_report(store: StateStore, ref: str) -> dict[str, Any] | None:
    """The last memory and CPU summary the daemon kept (None: none yet), as status shows it."""
    report = await host_slot(ref).read(store)
    return None if report is None else report.to_doc()
