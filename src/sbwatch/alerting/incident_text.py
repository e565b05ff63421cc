"""An incident as JSON-ready data: its record, its changelog entry and its timeline (the words
are in ``alerting.words.events``)."""

from __future__ import annotations

from collections.abc import Sequence

from sbwatch.alerting.words import changelog, event_line
from sbwatch.core.results import Incident, IncidentEvent


def incident_doc(incident: Incident, events: Sequence[IncidentEvent]) -> dict[str, object]:
    """One incident as JSON-ready data: its record, its changelog entry and its timeline."""
    return {
        "id": incident.id,
        "project": incident.project,
        "opened_at": incident.opened_at.isoformat(),
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "cause": incident.cause,
        "changelog": changelog(incident, events),
        "summary": incident.summary,
        "timeline": [
            {"at": e.at.isoformat(), "kind": e.kind.value, "text": e.text, "line": event_line(e)}
            for e in events
        ],
    }
