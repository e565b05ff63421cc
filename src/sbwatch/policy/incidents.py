"""Which events of an incident count: the moment the trouble became urgent, and the warnings
that came before it (the provider's email, sbwatch's own forecast)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sbwatch.core.results import IncidentEvent, IncidentEventKind, Severity
from sbwatch.core.subjects import BudgetCause

Kind = IncidentEventKind
FORECAST = BudgetCause.DRAINING
"""The cause of an IO budget alert that forecasts the budget running out."""


def impact(events: Sequence[IncidentEvent]) -> IncidentEvent | None:
    """The first critical message or compute change: when the trouble became urgent."""
    for event in events:
        critical = event.data.get("severity") == Severity.CRITICAL.value
        if (event.kind is Kind.MESSAGE and critical) or event.kind is Kind.ACTION:
            return event
    return None


def warnings(events: Sequence[IncidentEvent], before: datetime) -> list[IncidentEvent]:
    """The provider's emails and sbwatch's first forecast that came before ``before``."""
    emails = [e for e in events if e.kind is Kind.EMAIL and e.data.get("trusted", True)]
    forecasts = [e for e in events if e.kind is Kind.MESSAGE and e.data.get("cause") == FORECAST][
        :1
    ]
    return sorted((e for e in [*emails[:1], *forecasts] if e.at < before), key=lambda e: e.at)
