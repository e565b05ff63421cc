"""The connections inside the watcher: readings of each scrape, the assessment, the alert.

Readings come with the metrics scrape (``IoSample.connections``) and are kept in memory for
the trend's window; sbwatch pulls no lever for connections, it names them in the alert.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sbwatch.alerting.words import connections_lines, connections_title, refused_lines
from sbwatch.core.results import Diagnosis, DiagnosisKind, IoSample, Severity
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import Condition
from sbwatch.policy.connections import TREND_WINDOW, ConnAssessment, ConnPoint, assess
from sbwatch.store.base import StateStore, Store
from sbwatch.watch.readings import keep_reading, save_report

if TYPE_CHECKING:  # status reads the report without loading prometheus_client
    from sbwatch.core.metrics import Metrics

"""The alert subject of the connections limit."""
KEEP = TREND_WINDOW + timedelta(minutes=10)
NAMESPACE = "connections"
"""Store state namespace of each project's last assessment (read by ``sbwatch status``)."""


def report_doc(a: ConnAssessment) -> dict[str, Any]:
    """The stored form of an assessment: every pool, the worst, the busiest username."""
    return {
        "at": a.at.isoformat(),
        "tier": a.tier.value,
        "level": a.level,
        "worst": a.worst.pool if a.worst is not None else None,
        "top_user": list(a.top_user) if a.top_user is not None else None,
        "pools": [
            {
                "pool": p.pool,
                "used": p.used,
                "limit": p.limit,
                "full": p.full or p.full_eta_s == 0,
                "full_eta_s": None if p.full_eta_s is None else round(p.full_eta_s),
            }
            for p in a.pools
        ],
    }


async def connections_report(store: StateStore, ref: str) -> dict[str, Any] | None:
    """The project's last stored assessment (None before the first scrape with connections)."""
    return await store.get_state(NAMESPACE, ref)


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
            await save_report(self.store, NAMESPACE, ref, report_doc(found), self._saved)

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
