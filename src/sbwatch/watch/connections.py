"""The connections inside the watcher: readings of each scrape, the assessment, the alert.

Readings come with the metrics scrape (``IoSample.connections``) and are kept in memory for
the trend's window; sbwatch pulls no lever for connections, it names them in the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sbwatch.alerting.words import connections_lines, connections_title, refused_lines
from sbwatch.core.results import Diagnosis, DiagnosisKind, IoSample, Severity, plain
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import Condition
from sbwatch.policy.connections import TREND_WINDOW, ConnAssessment, ConnPoint, assess
from sbwatch.store.base import StateStore, Store
from sbwatch.store.docs import Slot, field, moment, optional, reading, slot
from sbwatch.watch.readings import keep_reading, save_report

if TYPE_CHECKING:  # status reads the report without loading prometheus_client
    from sbwatch.core.metrics import Metrics

"""The alert subject of the connections limit."""
KEEP = TREND_WINDOW + timedelta(minutes=10)
NAMESPACE = "connections"
"""Store state namespace of each project's last assessment (read by ``sbwatch status``)."""


@dataclass(frozen=True, slots=True)
class PoolReport:
    """A pool's use of its limit, whether it is full and when a climb fills it (seconds)."""

    pool: str
    used: float
    limit: float
    full: bool
    full_eta_s: int | None

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return plain(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PoolReport:
        """The inverse of :meth:`to_doc`."""
        return cls(
            field(doc, "pool", str),
            field(doc, "used", int, float),
            field(doc, "limit", int, float),
            field(doc, "full", bool),
            optional(doc, "full_eta_s", int, float),
        )


@dataclass(frozen=True, slots=True)
class ConnectionsReport:
    """The stored form of an assessment: every pool, the worst, the busiest username."""

    at: datetime
    tier: str
    """The size's tier value."""
    level: str
    """``none``, ``warning`` or ``critical``."""
    worst: str | None
    """The worst pool's name."""
    top_user: tuple[str, float] | None
    """The username holding the most connections, and how many."""
    pools: tuple[PoolReport, ...]

    @classmethod
    def of(cls, a: ConnAssessment) -> ConnectionsReport:
        """What status shows of an assessment."""
        return cls(
            a.at,
            a.tier.value,
            a.level,
            a.worst.pool if a.worst is not None else None,
            a.top_user,
            tuple(
                PoolReport(
                    p.pool,
                    p.used,
                    p.limit,
                    p.full or p.full_eta_s == 0,
                    None if p.full_eta_s is None else round(p.full_eta_s),
                )
                for p in a.pools
            ),
        )

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "at": self.at.isoformat(),
            "tier": self.tier,
            "level": self.level,
            "worst": self.worst,
            "top_user": list(self.top_user) if self.top_user is not None else None,
            "pools": [p.to_doc() for p in self.pools],
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ConnectionsReport:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""

        def build() -> ConnectionsReport:
            top = optional(doc, "top_user", list)
            if top is not None:
                user, count = top
                if not isinstance(user, str) or not isinstance(count, int | float):
                    raise TypeError("'top_user' is not a username and a count")
            return cls(
                moment(doc, "at"),
                field(doc, "tier", str),
                field(doc, "level", str),
                optional(doc, "worst", str),
                None if top is None else (top[0], top[1]),
                tuple(PoolReport.from_doc(p) for p in field(doc, "pools", list)),
            )

        return reading("connections report", build)


def connections_slot(ref: str) -> Slot[ConnectionsReport]:
    """Where a project's last assessment is kept."""
    return slot(NAMESPACE, ref, ConnectionsReport)


async def connections_report(store: StateStore, ref: str) -> dict[str, Any] | None:
    """The project's last stored assessment (None before the first scrape with connections)."""
    report = await connections_slot(ref).read(store)
    return None if report is None else report.to_doc()


class ConnFlow:
    """Keeps, assesses and alerts on the connections of the watcher's projects."""

    def __init__(self, metrics: Metrics, store: Store) -> None:
        self.metrics = metrics
        self.store = store
        self.points: dict[str, list[ConnPoint]] = {}
        self.assessments: dict[str, ConnAssessment | None] = {}
        self.tiers: dict[str, Tier] = {}
        self._saved: dict[str, dict[str, Any]] = {}

    def fold(self, ref: str, sample: IoSample) -> None:
        """Keep the connections of one scrape."""
        if sample.connections is not None:
            points = self.points.setdefault(ref, [])
            keep_reading(points, ConnPoint(sample.at, sample.connections), KEEP)

    def assess(self, ref: str, tier: Tier, now: datetime) -> ConnAssessment | None:
        """Every pool now; the gauges follow."""
        found = assess(self.points.get(ref, []), tier, now)
        self.assessments[ref] = found
        self.tiers[ref] = tier
        for state in found.pools if found is not None else ():
            self.metrics.connections_used.labels(ref, state.pool).set(state.used)
            self.metrics.connections_limit.labels(ref, state.pool).set(state.limit)
        return found

    async def save(self, ref: str) -> None:
        """Keep the assessment for ``sbwatch status`` when it changed (its time apart)."""
        found = self.assessments.get(ref)
        if found is not None:
            report = ConnectionsReport.of(found)
            await save_report(self.store, connections_slot(ref), report, self._saved)

    def condition(self, ref: str, diagnosis: Diagnosis) -> Condition:
        """The connections condition of this cycle."""
        found = self.assessments.get(ref)
        active = found is not None and found.level != "none"
        if diagnosis.kind is DiagnosisKind.CONNECTIONS_EXHAUSTED:
            active = False  # the diagnosis says it, with these lines
        critical = found is not None and found.level == "critical"
        worst = found.worst if found is not None else None
        return Condition(
            ref,
            Subject.CONNECTIONS,
            Severity.CRITICAL if critical else Severity.WARNING,
            connections_title(found) if found is not None else "connections",
            "\n".join(connections_lines(found, ref)) if found is not None else "",
            active,
            cause=f"connections:{worst.pool}:{'full' if worst.full else 'filling'}"
            if worst is not None
            else "connections",
        )

    def fold_into(self, conditions: list[Condition], ref: str, diagnosis: Diagnosis) -> None:
        """Connections exhausted: the diagnosis alert carries the pool's lines and takes the
        connections alert in (one alert, not two)."""
        found = self.assessments.get(ref)
        if diagnosis.kind is not DiagnosisKind.CONNECTIONS_EXHAUSTED:
            return
        lines = connections_lines(found, ref) if found is not None else []
        tier = self.tiers.get(ref)
        if not lines and diagnosis.refused_by is not None and tier is not None:
            lines = refused_lines(diagnosis.refused_by, tier, ref)
        for index, cond in enumerate(conditions):
            if cond.subject == Subject.DIAGNOSIS:
                said = cond.body.splitlines()
                extra = "\n".join(line for line in lines if line.rstrip(".") not in said)
                body = f"{cond.body}\n{extra}" if cond.body and extra else cond.body or extra
                conditions[index] = replace(
                    cond, body=body, absorbs=(*cond.absorbs, Subject.CONNECTIONS)
                )
