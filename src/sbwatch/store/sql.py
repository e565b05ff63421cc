"""The Store protocol in portable SQL, shared by the SQLite and PostgreSQL stores.

Statements use ``?`` placeholders and only syntax both engines accept (ON CONFLICT,
RETURNING); a backend supplies the connection plumbing, the placeholder style, the
timestamp parameter form and the error mapping.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sbwatch.core.errors import StoreError
from sbwatch.core.lease import LEASE_NAME
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
from sbwatch.store import codec
from sbwatch.store.base import slot_start
from sbwatch.store.codec import Row
from sbwatch.store.lease_sql import LeaseSql
from sbwatch.store.oncall_sql import OncallSql

_UNFINISHED = (IntentState.OPEN.value, IntentState.APPLIED.value)
Where = tuple[str, list[Any]]
PENDING_LIMIT = 10_000
"""Probe results kept for a later write while the store fails; older ones are dropped."""


@dataclass
class _ProbeWrites:
    """Probe results and states waiting to be written, and how far the writes have come."""

    results: list[Sequence[Any]] = field(default_factory=list)
    statuses: dict[tuple[str, str], Sequence[Any]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    queued: int = 0
    """Tickets handed out: one per row or state queued."""
    written: int = 0
    """Every ticket up to this one is in the store."""


class SqlStore(LeaseSql, OncallSql, ABC):
    """Every Store method over five primitives a backend implements."""

    def __init__(self) -> None:
        self._probe_writes = _ProbeWrites()

    @abstractmethod
    async def open(self) -> None:
        """Connect and apply pending schema migrations."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def _ts(self, value: datetime) -> Any:
        """An aware datetime as this backend's query parameter."""

    @abstractmethod
    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[Row]:
        """Run one statement (inside a write transaction when ``tx``); its rows."""

    @abstractmethod
    async def _run(self, op: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""

    @abstractmethod
    async def _many(self, op: str, batches: Sequence[tuple[str, list[Sequence[Any]]]]) -> None:
        """Run each statement once per parameter row, all in one write transaction."""

    def _where(self, eq: dict[str, Any], since: tuple[str, datetime | None] = ("", None)) -> Where:
        """Equalities (None values skipped) and an optional ``column >= since``, ANDed."""
        terms = [f"{column} = ?" for column, value in eq.items() if value is not None]
        params = [value for value in eq.values() if value is not None]
        column, start = since
        if start is not None:
            terms.append(f"{column} >= ?")
            params.append(self._ts(start))
        return (" AND ".join(terms) or "1 = 1"), params

    async def _insert(
        self, table: str, columns: Sequence[str], params: Sequence[Any], tail: str = ""
    ) -> list[Row]:
        """INSERT (``tail`` may add ON CONFLICT and RETURNING); the returned rows."""
        return await self._fetch(f"insert {table}", _insert_sql(table, columns, tail), params)

    async def _append(self, table: str, columns: Sequence[str], value: Any) -> None:
        """INSERT the fields of a value named like the columns."""
        await self._insert(table, columns, codec.params(value, columns, self._ts))

    async def _upsert(
        self, table: str, columns: Sequence[str], params: Sequence[Any], keys: Sequence[str]
    ) -> None:
        """INSERT, or UPDATE every non-key column of the row with the same keys."""
        await self._insert(table, columns, params, _upsert_tail(columns, keys))

    async def _select(
        self, table: str, where: Where, order: str = "at, id", limit: str = ""
    ) -> list[Row]:
        """SELECT * with a WHERE clause and an order."""
        sql = f"SELECT * FROM {table} WHERE {where[0]} ORDER BY {order} {limit}"
        return await self._fetch(f"select {table}", sql, where[1])

    async def schema_version(self) -> int:
        """The applied migration number."""
        rows = await self._fetch("schema_version", "SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    # -- probes -----------------------------------------------------------------------------
    async def record_probe(self, result: ProbeResult) -> None:
        """Append one probe result (written with whatever else is waiting)."""
        writes = self._probe_writes
        writes.results.append(codec.params(result, codec.PROBE_COLUMNS, self._ts))
        await self._write_probes()

    async def recent_probes(
        self, project: str, since: datetime, probe: ProbeKind | None = None
    ) -> list[ProbeResult]:
        """Probe results at or after ``since``, oldest first."""
        kind = probe.value if probe is not None else None
        where = self._where({"project": project, "probe": kind}, ("at", since))
        return [codec.probe_from_row(row) for row in await self._select("probe_results", where)]

    async def probe_slots(
        self, project: str, since: datetime, probes: Sequence[ProbeKind]
    ) -> list[tuple[ProbeKind, datetime]]:
        """The ten-minute slots at or after the one holding ``since`` with a result of each
        of ``probes``: made distinct in the database, so 90 days are 12 960 rows a probe."""
        if not probes:
            return []
        marks = ", ".join("?" for _ in probes)
        sql = (
            f"SELECT DISTINCT probe, {self._slot_of('at')} FROM probe_results "
            f"WHERE project = ? AND at >= ? AND probe IN ({marks}) ORDER BY 2, 1"
        )
        params = [project, self._ts(slot_start(since)), *(p.value for p in probes)]
        rows = await self._fetch("probe slots", sql, params)
        return [
            (ProbeKind(row[0]), datetime.fromisoformat(f"{row[1]}0").replace(tzinfo=UTC))
            for row in rows
        ]

    @abstractmethod
    def _slot_of(self, column: str) -> str:
        """SQL naming the ten-minute slot of a timestamp column: ``YYYY-MM-DDTHH:M`` text."""

    async def save_probe_status(self, status: ProbeStatus) -> None:
        """Insert or replace the thresholded state of (project, probe)."""
        key = (status.project, status.probe.value)
        self._probe_writes.statuses[key] = codec.status_params(status, self._ts)
        await self._write_probes()

    async def _write_probes(self) -> None:
        """Write the waiting probe results and states in one transaction (group commit).

        A fleet records a result and a state a few hundred times a second. Callers that come
        while a write is under way queue behind it; the first of them then writes for all, and
        the others, whose rows are in, return at once. A failed write keeps its rows for the
        next one and raises to the caller that made it; a caller whose rows were not written
        tries itself, so nobody returns before their rows are in or an error says why not.
        """
        writes = self._probe_writes
        writes.queued += 1
        ticket = writes.queued
        async with writes.lock:
            if writes.written >= ticket:
                return
            upto = writes.queued
            results, writes.results = writes.results, []
            statuses, writes.statuses = writes.statuses, {}
            batches = [(_PROBE_INSERT, results), (_STATUS_UPSERT, list(statuses.values()))]
            try:
                await self._many("write probes", [(sql, rows) for sql, rows in batches if rows])
            except StoreError:
                writes.results[:0] = results
                del writes.results[:-PENDING_LIMIT]
                writes.statuses = statuses | writes.statuses
                raise
            writes.written = upto

    async def probe_statuses(self, project: str | None = None) -> list[ProbeStatus]:
        """Current states, for one project or all, ordered by project then probe."""
        rows = await self._select(
            "probe_status", self._where({"project": project}), "project, probe"
        )
        return [codec.status_from_row(row) for row in rows]

    async def record_transition(self, transition: Transition) -> None:
        """Append a state change."""
        await self._append("transitions", codec.TRANSITION_COLUMNS, transition)

    async def transitions(self, project: str, since: datetime) -> list[Transition]:
        """State changes at or after ``since``, oldest first."""
        rows = await self._select("transitions", self._where({"project": project}, ("at", since)))
        return [codec.transition_from_row(row) for row in rows]

    # -- disk IO ----------------------------------------------------------------------------
    async def record_io_sample(self, project: str, sample: IoSample) -> None:
        """Append one metrics scrape."""
        params = codec.io_params(project, sample, self._ts)
        await self._insert("io_samples", codec.IO_SAMPLE_COLUMNS, params)

    async def io_samples(self, project: str, since: datetime) -> list[IoSample]:
        """Scrapes at or after ``since``, oldest first."""
        rows = await self._select("io_samples", self._where({"project": project}, ("at", since)))
        return [codec.io_from_row(row) for row in rows]

    async def record_budget(self, estimate: BudgetEstimate) -> None:
        """Append one budget estimate."""
        await self._append("budgets", codec.BUDGET_COLUMNS, estimate)

    async def latest_budget(self, project: str) -> BudgetEstimate | None:
        """The newest budget estimate of a project."""
        where = self._where({"project": project})
        rows = await self._select("budgets", where, "at DESC, id DESC", "LIMIT 1")
        return codec.budget_from_row(rows[0]) if rows else None

    async def budget_history(self, project: str, since: datetime) -> list[BudgetEstimate]:
        """Estimates at or after ``since``, oldest first."""
        rows = await self._select("budgets", self._where({"project": project}, ("at", since)))
        return [codec.budget_from_row(row) for row in rows]

    # -- small durable state ----------------------------------------------------------------
    async def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        """A JSON document, or None."""
        where = self._where({"namespace": namespace, "key": key})
        rows = await self._select("state", where, "namespace")
        return codec.load_json(rows[0]["value"]) if rows else None

    async def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        """Insert or replace a JSON document (durable when this returns)."""
        params = (namespace, key, codec.dump_json(value))
        await self._upsert("state", ("namespace", "key", "value"), params, ("namespace", "key"))

    async def delete_state(self, namespace: str, key: str) -> None:
        """Remove a document if present."""
        sql = "DELETE FROM state WHERE namespace = ? AND key = ?"
        await self._run("delete_state", sql, (namespace, key))

    # -- emails and diagnoses --------------------------------------------------------------
    async def record_email(self, email: ProviderEmail) -> bool:
        """Append an email event; False (and nothing written) if its Message-ID is known."""
        params = codec.params(email, codec.EMAIL_COLUMNS, self._ts)
        tail = "ON CONFLICT (message_id) DO NOTHING RETURNING id"
        return bool(await self._insert("emails", codec.EMAIL_COLUMNS, params, tail))

    async def recent_emails(
        self, since: datetime, project: str | None = None
    ) -> list[ProviderEmail]:
        """Emails received at or after ``since`` (for a project: its own and unattributed ones)."""
        sql, params = self._where({}, ("received_at", since))
        if project is not None:
            sql, params = f"{sql} AND (project_ref = ? OR project_ref IS NULL)", [*params, project]
        rows = await self._select("emails", (sql, params), "received_at, id")
        return [codec.email_from_row(row) for row in rows]

    async def record_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Append one diagnosis."""
        params = codec.diagnosis_params(diagnosis, self._ts)
        await self._insert("diagnoses", codec.DIAGNOSIS_COLUMNS, params)

    async def latest_diagnosis(self, project: str) -> Diagnosis | None:
        """The newest diagnosis of a project."""
        where = self._where({"project": project})
        rows = await self._select("diagnoses", where, "at DESC, id DESC", "LIMIT 1")
        return codec.diagnosis_from_row(rows[0]) if rows else None

    async def diagnoses(self, project: str, since: datetime) -> list[Diagnosis]:
        """Diagnoses at or after ``since``, oldest first."""
        rows = await self._select("diagnoses", self._where({"project": project}, ("at", since)))
        return [codec.diagnosis_from_row(row) for row in rows]

    # -- escalation journal and lock -------------------------------------------------------
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
        while it is ``lease``'s (Fenced otherwise)."""
        params = codec.intent_params(project, from_tier, to_tier, reason, actor, at, self._ts)
        if epoch is not None:
            columns = codec.INTENT_COLUMNS
            rows = await self._insert_fenced("intents", columns, params, epoch, lease)
        else:
            rows = await self._insert("intents", codec.INTENT_COLUMNS, params, "RETURNING *")
        return codec.intent_from_row(rows[0])

    async def update_intent(
        self,
        intent_id: int,
        state: IntentState,
        at: datetime,
        detail: str = "",
        recovered_s: float | None = None,
    ) -> Intent:
        """Move an intent to a new state (an empty detail or None recovered_s keeps the old)."""
        sql = (
            "UPDATE intents SET state = ?, updated_at = ?,"
            " detail = CASE WHEN ? = '' THEN detail ELSE ? END,"
            " recovered_s = COALESCE(?, recovered_s) WHERE id = ? RETURNING *"
        )
        params = (state.value, self._ts(at), detail, detail, recovered_s, intent_id)
        rows = await self._fetch("update_intent", sql, params)
        if not rows:
            raise StoreError(f"update_intent failed: no intent {intent_id}", transient=False)
        return codec.intent_from_row(rows[0])

    async def intents(
        self, project: str | None = None, since: datetime | None = None
    ) -> list[Intent]:
        """Journal entries, oldest first."""
        where = self._where({"project": project}, ("created_at", since))
        return [
            codec.intent_from_row(row)
            for row in await self._select("intents", where, "created_at, id")
        ]

    async def unfinished_intents(self, project: str | None = None) -> list[Intent]:
        """Intents in OPEN or APPLIED state (an outcome or a verification is still owed)."""
        sql, params = self._where({"project": project})
        where = (f"{sql} AND state IN (?, ?)", [*params, *_UNFINISHED])
        return [
            codec.intent_from_row(row)
            for row in await self._select("intents", where, "created_at, id")
        ]

    async def acquire_lock(
        self, name: str, owner: str, ttl_s: float, now: datetime, *, replacing: str | None = None
    ) -> bool:
        """Take the named lock if free or expired (or already ours, renewing it), or from
        ``replacing`` when that is exactly who holds it."""
        sql = (
            "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
            " expires_at = excluded.expires_at"
            " WHERE locks.owner = excluded.owner OR locks.expires_at <= ? OR locks.owner = ?"
            " RETURNING owner"
        )
        until = self._ts(now + timedelta(seconds=ttl_s))
        params = (name, owner, until, self._ts(now), replacing)
        return len(await self._fetch("acquire_lock", sql, params, tx=True)) == 1

    async def lock_holder(self, name: str, now: datetime) -> str | None:
        """Who holds the named lock at ``now`` (None when it is free or expired)."""
        sql = "SELECT owner FROM locks WHERE name = ? AND expires_at > ?"
        rows = await self._fetch("lock_holder", sql, (name, self._ts(now)))
        return str(rows[0][0]) if rows else None

    async def release_lock(self, name: str, owner: str) -> None:
        """Release the lock if we hold it."""
        sql = "DELETE FROM locks WHERE name = ? AND owner = ?"
        await self._run("release_lock", sql, (name, owner))

    # -- alerts, outbox, silences ----------------------------------------------------------
    async def save_alert(self, alert: Alert) -> None:
        """Insert or replace an alert by key."""
        params = codec.params(alert, codec.ALERT_COLUMNS, self._ts)
        await self._upsert("alerts", codec.ALERT_COLUMNS, params, ("key",))

    async def get_alert(self, key: str) -> Alert | None:
        """One alert by key."""
        rows = await self._select("alerts", self._where({"key": key}), "key")
        return codec.alert_from_row(rows[0]) if rows else None

    async def open_alerts(self, project: str | None = None) -> list[Alert]:
        """Alerts not closed, oldest first."""
        sql, params = self._where({"project": project})
        where = (f"{sql} AND closed_at IS NULL", params)
        return [
            codec.alert_from_row(row)
            for row in await self._select("alerts", where, "opened_at, key")
        ]

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
        holder sends it (high availability), None for the leader's."""
        params = codec.notification_params(
            alert_key, route, severity, title, body, at, self._ts, good_news, lease
        )
        rows = await self._insert(
            "notifications", codec.NOTIFICATION_COLUMNS, params, "RETURNING *"
        )
        return codec.notification_from_row(rows[0])

    async def due_notifications(self, now: datetime) -> list[Notification]:
        """Unsent, not permanently failed, whose next attempt is due; in the order they were
        put in the outbox (not by when each was made: what a store outage held is written
        when it returns, its own warning first, though an alert raised during it was made
        before the warning was)."""
        sql = (
            "sent_at IS NULL AND failed IS NULL"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        )
        rows = await self._select("notifications", (sql, [self._ts(now)]), "id")
        return [codec.notification_from_row(row) for row in rows]

    async def mark_sent(self, notification_id: int, at: datetime) -> None:
        """The channel accepted it (the attempt is counted)."""
        sql = "UPDATE notifications SET sent_at = ?, attempts = attempts + 1 WHERE id = ?"
        await self._run("mark_sent", sql, (self._ts(at), notification_id))

    async def mark_retry(self, notification_id: int, next_attempt_at: datetime, error: str) -> None:
        """A transient failure: count the attempt and schedule the next."""
        sql = (
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?,"
            " last_error = ? WHERE id = ?"
        )
        await self._run("mark_retry", sql, (self._ts(next_attempt_at), error, notification_id))

    async def mark_failed(self, notification_id: int, reason: str, at: datetime) -> None:
        """A permanent failure (the attempt is counted): never retried, surfaced to people."""
        sql = (
            "UPDATE notifications SET failed = ?, failed_at = ?, attempts = attempts + 1"
            " WHERE id = ?"
        )
        await self._run("mark_failed", sql, (reason, self._ts(at), notification_id))

    async def notifications(self, since: datetime) -> list[Notification]:
        """All notifications created at or after ``since``, in the outbox's order."""
        where = self._where({}, ("created_at", since))
        rows = await self._select("notifications", where, "id")
        return [codec.notification_from_row(row) for row in rows]

    async def add_silence(
        self, project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str
    ) -> Silence:
        """Add a silence (project ``*`` silences every project)."""
        params = codec.silence_params(project, starts_at, ends_at, reason, created_by, self._ts)
        rows = await self._insert("silences", codec.SILENCE_COLUMNS, params, "RETURNING *")
        return codec.silence_from_row(rows[0])

    async def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, or only those active at a time (starts_at <= t < ends_at)."""
        where: tuple[str, list[Any]] = ("1 = 1", [])
        if active_at is not None:
            where = ("starts_at <= ? AND ends_at > ?", [self._ts(active_at)] * 2)
        rows = await self._select("silences", where, "starts_at, id")
        return [codec.silence_from_row(row) for row in rows]

    async def remove_silence(self, silence_id: int) -> bool:
        """Delete a silence; False if there was none."""
        return (
            await self._run("remove_silence", "DELETE FROM silences WHERE id = ?", (silence_id,))
            == 1
        )

    # -- incidents -------------------------------------------------------------------------
    async def open_incident(
        self, project: str, at: datetime, cause: str, cause_rank: int
    ) -> Incident:
        """Begin an incident of ``project``."""
        params = (project, self._ts(at), cause, cause_rank, "")
        rows = await self._insert("incidents", codec.INCIDENT_COLUMNS, params, "RETURNING *")
        return codec.incident_from_row(rows[0])

    async def current_incident(self, project: str) -> Incident | None:
        """The project's incident not closed yet (the newest, should there be several)."""
        sql, params = self._where({"project": project})
        where = (f"{sql} AND closed_at IS NULL", params)
        rows = await self._select("incidents", where, "opened_at DESC, id DESC", "LIMIT 1")
        return codec.incident_from_row(rows[0]) if rows else None

    async def set_incident_cause(self, incident_id: int, cause: str, cause_rank: int) -> None:
        """Name the incident's worst cause so far."""
        sql = "UPDATE incidents SET cause = ?, cause_rank = ? WHERE id = ?"
        await self._run("update incidents", sql, (cause, cause_rank, incident_id))

    async def close_incident(self, incident_id: int, at: datetime, summary: str) -> None:
        """End the incident with the message that summed it up."""
        sql = "UPDATE incidents SET closed_at = ?, summary = ? WHERE id = ?"
        await self._run("update incidents", sql, (self._ts(at), summary, incident_id))

    async def add_incident_event(self, event: IncidentEvent) -> None:
        """Append one line to an incident's timeline."""
        await self._append("incident_events", codec.INCIDENT_EVENT_COLUMNS, event)

    async def incidents(
        self, project: str | None = None, since: datetime | None = None
    ) -> list[Incident]:
        """Incidents still open or closed at or after ``since``, oldest first."""
        sql, params = self._where({"project": project})
        if since is not None:
            sql, params = (
                f"{sql} AND (closed_at IS NULL OR closed_at >= ?)",
                [
                    *params,
                    self._ts(since),
                ],
            )
        rows = await self._select("incidents", (sql, params), "opened_at, id")
        return [codec.incident_from_row(row) for row in rows]

    async def incident(self, incident_id: int) -> Incident | None:
        """One incident by id."""
        rows = await self._select("incidents", self._where({"id": incident_id}), "id")
        return codec.incident_from_row(rows[0]) if rows else None

    async def incident_events(self, incident_id: int) -> list[IncidentEvent]:
        """The timeline of one incident, in time order."""
        where = self._where({"incident": incident_id})
        rows = await self._select("incident_events", where, "at, id")
        return [codec.incident_event_from_row(row) for row in rows]


def _insert_sql(table: str, columns: Sequence[str], tail: str = "") -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {tail}"


def _upsert_tail(columns: Sequence[str], keys: Sequence[str]) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


_PROBE_INSERT = _insert_sql("probe_results", codec.PROBE_COLUMNS)
_STATUS_UPSERT = _insert_sql(
    "probe_status", codec.STATUS_COLUMNS, _upsert_tail(codec.STATUS_COLUMNS, ("project", "probe"))
)
