"""The state store protocol: everything sbwatch remembers, behind one interface made of roles.

Two implementations share one contract test suite: SQLite (embedded default) and PostgreSQL
(shared across hosts). Storage knows no policy: it keeps values and answers queries.
All timestamps are aware UTC datetimes. :class:`Store` is every role at once; a part that
needs only some asks for those (:class:`ProbeStore`, :class:`OnCallStore`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sbwatch.core.lease import LEASE_NAME, InstanceRecord, Lease, Role
from sbwatch.core.oncall import Ack, AlertEscalation, MaintenanceWindow
from sbwatch.core.results import (
    Alert,
    BudgetEstimate,
    Diagnosis,
    Incident,
    IncidentEvent,
    Intent,
    IntentState,
    IoSample,
    Notification,
    ProbeKind,
    ProbeResult,
    ProbeStatus,
    ProviderEmail,
    Severity,
    Silence,
    Transition,
)
from sbwatch.core.tiers import Tier

PROBE_SLOT = timedelta(minutes=10)
"""What :meth:`Store.probe_slots` counts in: when each probe had results, to ten minutes."""


def slot_start(at: datetime) -> datetime:
    """The start of the ten-minute slot holding ``at``, in UTC."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute // 10 * 10, second=0, microsecond=0)


class StoreLifecycle(Protocol):
    """Opening and closing a store, and its schema."""

    async def open(self) -> None:
        """Connect and apply pending schema migrations."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def schema_version(self) -> int:
        """The applied migration number."""
        ...


class ProbeStore(Protocol):
    """Probe results, the thresholded state of each probe, and its changes."""

    async def record_probe(self, result: ProbeResult) -> None:
        """Append one probe result."""
        ...

    async def recent_probes(
        self, project: str, since: datetime, probe: ProbeKind | None = None
    ) -> list[ProbeResult]:
        """Probe results at or after ``since``, oldest first."""
        ...

    async def probe_slots(
        self, project: str, since: datetime, probes: Sequence[ProbeKind]
    ) -> list[tuple[ProbeKind, datetime]]:
        """The :data:`PROBE_SLOT` slots (their starts, UTC) at or after the one holding
        ``since`` in which each of ``probes`` has at least one result of the project."""
        ...

    async def save_probe_status(self, status: ProbeStatus) -> None:
        """Insert or replace the thresholded state of (project, probe)."""
        ...

    async def probe_statuses(self, project: str | None = None) -> list[ProbeStatus]:
        """Current states, for one project or all, ordered by project then probe."""
        ...

    async def record_transition(self, transition: Transition) -> None:
        """Append a state change."""
        ...

    async def transitions(self, project: str, since: datetime) -> list[Transition]:
        """State changes at or after ``since``, oldest first."""
        ...


class BudgetStore(Protocol):
    """Disk IO: the metrics scrapes and the budget estimates made from them."""

    async def record_io_sample(self, project: str, sample: IoSample) -> None:
        """Append one metrics scrape."""
        ...

    async def io_samples(self, project: str, since: datetime) -> list[IoSample]:
        """Scrapes at or after ``since``, oldest first."""
        ...

    async def record_budget(self, estimate: BudgetEstimate) -> None:
        """Append one budget estimate."""
        ...

    async def latest_budget(self, project: str) -> BudgetEstimate | None:
        """The newest budget estimate of a project."""
        ...

    async def budget_history(self, project: str, since: datetime) -> list[BudgetEstimate]:
        """Estimates at or after ``since``, oldest first."""
        ...


class StateStore(Protocol):
    """Small durable documents (estimator state, IMAP cursor, pending corrections), each under
    a namespace and a key."""

    async def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        """A JSON document, or None."""
        ...

    async def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        """Insert or replace a JSON document (durable when this returns)."""
        ...

    async def delete_state(self, namespace: str, key: str) -> None:
        """Remove a document if present."""
        ...


class MailStore(Protocol):
    """The provider's emails read from the mailbox."""

    async def record_email(self, email: ProviderEmail) -> bool:
        """Append an email event; False (and nothing written) if its Message-ID is known."""
        ...

    async def recent_emails(
        self, since: datetime, project: str | None = None
    ) -> list[ProviderEmail]:
        """Emails received at or after ``since``: a project's own and those without a ref."""
        ...


class DiagnosisStore(Protocol):
    """The diagnoses of each project, newest last."""

    async def record_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Append one diagnosis."""
        ...

    async def latest_diagnosis(self, project: str) -> Diagnosis | None:
        """The newest diagnosis of a project."""
        ...

    async def diagnoses(self, project: str, since: datetime) -> list[Diagnosis]:
        """Diagnoses at or after ``since``, oldest first."""
        ...


class JournalStore(Protocol):
    """The escalation journal (intents) and the locks around acting on it."""

    async def create_intent(
        self,
        project: str,
        from_tier: Tier,
        to_tier: Tier,
        reason: str,
        actor: str,
        at: datetime,
        *,
        epoch: int | None = None,
        lease: str = LEASE_NAME,
    ) -> Intent:
        """Write (and commit) an OPEN intent before any PATCH is sent; with ``epoch``, only
        while it is ``lease``'s fencing epoch (Fenced otherwise)."""
        ...

    async def update_intent(
        self,
        intent_id: int,
        state: IntentState,
        at: datetime,
        detail: str = "",
        recovered_s: float | None = None,
    ) -> Intent:
        """Move an intent to a new state."""
        ...

    async def intents(
        self, project: str | None = None, since: datetime | None = None
    ) -> list[Intent]:
        """Journal entries, oldest first."""
        ...

    async def unfinished_intents(self, project: str | None = None) -> list[Intent]:
        """Intents in OPEN or APPLIED state (an outcome or a verification is still owed)."""
        ...

    async def acquire_lock(
        self, name: str, owner: str, ttl_s: float, now: datetime, *, replacing: str | None = None
    ) -> bool:
        """Take the named lock if free or expired (or already ours, renewing it), or from
        ``replacing`` when that is exactly who holds it (a holder known to be dead)."""
        ...

    async def lock_holder(self, name: str, now: datetime) -> str | None:
        """Who holds the named lock at ``now`` (None when it is free or expired)."""
        ...

    async def release_lock(self, name: str, owner: str) -> None:
        """Release the lock if we hold it."""
        ...


class LeaseStore(Protocol):
    """High availability: the leases, the instances' records, and claims fenced by a lease."""

    async def take_lease(self, holder: str, ttl_s: float, name: str = LEASE_NAME) -> Lease | None:
        """Take the named lease when free, expired (database time) or already ``holder``'s,
        under a new fencing epoch; None while another holds it."""
        ...

    async def take_leases(self, holder: str, names: Sequence[str], ttl_s: float) -> dict[str, int]:
        """Take each named lease that is free, expired or ``holder``'s, in one statement; the
        epochs of those taken, by name."""
        ...

    async def renew_lease(
        self, holder: str, epoch: int, ttl_s: float, name: str = LEASE_NAME
    ) -> Lease | None:
        """Extend the lease ``holder`` holds under ``epoch``; None when that is no longer so."""
        ...

    async def renew_leases(self, holder: str, prefix: str, ttl_s: float) -> dict[str, int]:
        """Extend every lease ``holder`` holds whose name starts with ``prefix``; their epochs."""
        ...

    async def release_lease(self, holder: str, epoch: int, name: str = LEASE_NAME) -> bool:
        """Let the lease expire now, if ``holder`` still holds it under ``epoch``."""
        ...

    async def release_leases(self, holder: str, prefix: str) -> int:
        """Let every lease ``holder`` holds whose name starts with ``prefix`` expire now."""
        ...

    async def current_lease(self, name: str = LEASE_NAME) -> Lease | None:
        """The lease as stored (expired or not); None when never taken."""
        ...

    async def leases(self, prefix: str) -> dict[str, Lease]:
        """The unexpired leases whose names start with ``prefix``, by name."""
        ...

    async def record_instance(self, name: str, role: Role, epoch: int | None) -> None:
        """Insert or replace an instance's role, renewed now (database time)."""
        ...

    async def instances(self) -> list[InstanceRecord]:
        """Every instance that ever ran on this store, by name."""
        ...

    async def live_instances(self, within_s: float) -> list[str]:
        """Instances not stopped that recorded themselves in the last ``within_s`` seconds."""
        ...

    async def claim_notification(
        self, notification_id: int, epoch: int, lease: str = LEASE_NAME
    ) -> bool:
        """Claim an unsent notification for sending under ``epoch``; False when it was sent or
        failed meanwhile or when ``epoch`` is no longer ``lease``'s (nothing written)."""
        ...


class AlertStore(Protocol):
    """Alerts, open and closed."""

    async def save_alert(self, alert: Alert) -> None:
        """Insert or replace an alert by key."""
        ...

    async def get_alert(self, key: str) -> Alert | None:
        """One alert by key (open or closed, the newest)."""
        ...

    async def open_alerts(self, project: str | None = None) -> list[Alert]:
        """Alerts not closed."""
        ...


class OutboxStore(Protocol):
    """The outbox: notifications waiting, sent, retried or failed."""

    async def enqueue_notification(
        self,
        alert_key: str,
        route: str,
        severity: Severity,
        title: str,
        body: str,
        at: datetime,
        *,
        good_news: bool = False,
        lease: str | None = None,
    ) -> Notification:
        """Record a notification before any attempt to send it; ``lease``: the one whose
        holder sends it (None: the leader's)."""
        ...

    async def due_notifications(self, now: datetime) -> list[Notification]:
        """Unsent, not permanently failed, whose next attempt is due; in the order they were
        put in the outbox."""
        ...

    async def mark_sent(self, notification_id: int, at: datetime) -> None:
        """The channel accepted it."""
        ...

    async def mark_retry(self, notification_id: int, next_attempt_at: datetime, error: str) -> None:
        """A transient failure: count the attempt and schedule the next."""
        ...

    async def mark_failed(self, notification_id: int, reason: str, at: datetime) -> None:
        """A permanent failure: never retried, surfaced to people."""
        ...

    async def notifications(self, since: datetime) -> list[Notification]:
        """All notifications created at or after ``since``, in the outbox's order."""
        ...


class OnCallStore(Protocol):
    """On call: silences, maintenance windows, acknowledgements, alert escalations."""

    async def add_silence(
        self, project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str
    ) -> Silence:
        """Add a silence (project ``*`` silences every project)."""
        ...

    async def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, or only those active at a time."""
        ...

    async def remove_silence(self, silence_id: int) -> bool:
        """Delete a silence; False if there was none."""
        ...

    async def add_maintenance(
        self, project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str
    ) -> MaintenanceWindow:
        """Add a maintenance window (project ``*``: every project)."""
        ...

    async def maintenance_windows(
        self, ending_after: datetime | None = None
    ) -> list[MaintenanceWindow]:
        """Every window, or those ending after a time; by start."""
        ...

    async def end_maintenance(self, window_id: int, at: datetime) -> MaintenanceWindow | None:
        """End a window at ``at``; None when there is none or it had already ended."""
        ...

    async def ack_alert(
        self, alert_key: str, project: str, opened_at: datetime, at: datetime, by: str
    ) -> Ack:
        """Record who took the alert opened at ``opened_at``; the first acknowledgement stands."""
        ...

    async def acks(self, project: str | None = None) -> list[Ack]:
        """Acknowledgements (of one project, or all), oldest first."""
        ...

    async def claim_alert_escalation(
        self,
        alert_key: str,
        project: str,
        opened_at: datetime,
        at: datetime,
        routes: Sequence[str],
    ) -> bool:
        """Record that an alert is passed on to ``routes``; False when it already was."""
        ...

    async def alert_escalations(self, project: str | None = None) -> list[AlertEscalation]:
        """Alerts passed on to the escalation routes, oldest first."""
        ...


class IncidentStore(Protocol):
    """Incidents and the events of each."""

    async def open_incident(
        self, project: str, at: datetime, cause: str, cause_rank: int
    ) -> Incident:
        """Begin an incident of ``project``."""
        ...

    async def current_incident(self, project: str) -> Incident | None:
        """The project's incident not closed yet (the newest, should there be several)."""
        ...

    async def set_incident_cause(self, incident_id: int, cause: str, cause_rank: int) -> None:
        """Name the incident's worst cause so far."""
        ...

    async def close_incident(self, incident_id: int, at: datetime, summary: str) -> None:
        """End the incident with the message that summed it up."""
        ...

    async def add_incident_event(self, event: IncidentEvent) -> None:
        """Append one line to an incident's timeline."""
        ...

    async def incidents(
        self, project: str | None = None, since: datetime | None = None
    ) -> list[Incident]:
        """Incidents still open or closed at or after ``since``, oldest first."""
        ...

    async def incident(self, incident_id: int) -> Incident | None:
        """One incident by id."""
        ...

    async def incident_events(self, incident_id: int) -> list[IncidentEvent]:
        """The timeline of one incident, in time order."""
        ...


class Store(
    StoreLifecycle,
    ProbeStore,
    BudgetStore,
    StateStore,
    MailStore,
    DiagnosisStore,
    JournalStore,
    LeaseStore,
    AlertStore,
    OutboxStore,
    OnCallStore,
    IncidentStore,
    Protocol,
):
    """What sbwatch keeps between runs: every role. Open with ``await open()``, close with
    ``await close()``."""
