"""Versioned schema migrations: one ordered history, rendered for SQLite and for PostgreSQL.

Each migration is written once with type placeholders (``{id}``, ``{ts}``, ``{real}``,
``{json}``, ``{bool}``, ``{sorted_text}``) so the two schemas cannot drift apart.
A released migration is never edited: changes are new migrations appended to ``_HISTORY``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Backend = Literal["sqlite", "postgres"]

_TYPES: dict[Backend, dict[str, str]] = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TEXT",
        "real": "REAL",
        "json": "TEXT",
        "bool": "INTEGER",
        "sorted_text": "TEXT",
    },
    "postgres": {
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "ts": "TIMESTAMPTZ",
        "real": "DOUBLE PRECISION",
        "json": "JSONB",
        "bool": "BOOLEAN",
        "sorted_text": 'TEXT COLLATE "C"',  # byte order, as SQLite sorts
    },
}

VERSION_TABLE: dict[Backend, str] = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    ),
    "postgres": (
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ),
}
"""The bookkeeping table: one row per applied migration."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its number, what it does, and its statements for one backend."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1_INITIAL = (
    """CREATE TABLE probe_results (
        id {id}, project TEXT NOT NULL, probe TEXT NOT NULL, outcome TEXT NOT NULL,
        at {ts} NOT NULL, duration_s {real} NOT NULL, detail TEXT NOT NULL,
        status_code INTEGER, data {json} NOT NULL)""",
    "CREATE INDEX probe_results_project_at ON probe_results (project, at)",
    """CREATE TABLE probe_status (
        project {sorted_text} NOT NULL, probe {sorted_text} NOT NULL, state TEXT NOT NULL,
        consecutive_ok INTEGER NOT NULL, consecutive_fail INTEGER NOT NULL,
        changed_at {ts}, last {json}, PRIMARY KEY (project, probe))""",
    """CREATE TABLE transitions (
        id {id}, project TEXT NOT NULL, probe TEXT NOT NULL, previous TEXT NOT NULL,
        current TEXT NOT NULL, at {ts} NOT NULL)""",
    "CREATE INDEX transitions_project_at ON transitions (project, at)",
    """CREATE TABLE io_samples (
        id {id}, project TEXT NOT NULL, at {ts} NOT NULL,
        read_bytes_total {real} NOT NULL, written_bytes_total {real} NOT NULL,
        reads_completed_total {real} NOT NULL, writes_completed_total {real} NOT NULL,
        iowait_seconds_total {real}, cpu_seconds_total {real}, idle_seconds_total {real},
        mem_available_bytes {real}, mem_total_bytes {real}, fs_avail_bytes {real},
        fs_size_bytes {real}, pg_up {real})""",
    "CREATE INDEX io_samples_project_at ON io_samples (project, at)",
    """CREATE TABLE budgets (
        id {id}, project TEXT NOT NULL, at {ts} NOT NULL, tier TEXT NOT NULL,
        ratio {real} NOT NULL, burn_mbps {real} NOT NULL, eta_s {real},
        confidence {real} NOT NULL, throughput_mbps {real} NOT NULL, iops {real} NOT NULL)""",
    "CREATE INDEX budgets_project_at ON budgets (project, at)",
    """CREATE TABLE state (
        namespace TEXT NOT NULL, key TEXT NOT NULL, value {json} NOT NULL,
        PRIMARY KEY (namespace, key))""",
    """CREATE TABLE emails (
        id {id}, message_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, project_ref TEXT,
        received_at {ts} NOT NULL, subject TEXT NOT NULL, sender TEXT NOT NULL,
        trusted {bool} NOT NULL, trust_reason TEXT NOT NULL)""",
    "CREATE INDEX emails_received_at ON emails (received_at)",
    """CREATE TABLE diagnoses (
        id {id}, project TEXT NOT NULL, at {ts} NOT NULL, kind TEXT NOT NULL,
        confidence {real} NOT NULL, evidence {json} NOT NULL, service TEXT)""",
    "CREATE INDEX diagnoses_project_at ON diagnoses (project, at)",
    """CREATE TABLE intents (
        id {id}, project TEXT NOT NULL, from_tier TEXT NOT NULL, to_tier TEXT NOT NULL,
        reason TEXT NOT NULL, actor TEXT NOT NULL, created_at {ts} NOT NULL,
        state TEXT NOT NULL, updated_at {ts} NOT NULL, detail TEXT NOT NULL,
        recovered_s {real})""",
    "CREATE INDEX intents_state ON intents (state)",
    """CREATE TABLE locks (
        name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at {ts} NOT NULL)""",
    """CREATE TABLE alerts (
        key {sorted_text} PRIMARY KEY, project TEXT NOT NULL, severity TEXT NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, opened_at {ts} NOT NULL,
        last_sent_at {ts}, closed_at {ts})""",
    """CREATE TABLE notifications (
        id {id}, alert_key TEXT NOT NULL, route TEXT NOT NULL, severity TEXT NOT NULL,
        title TEXT NOT NULL, body TEXT NOT NULL, created_at {ts} NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at {ts}, sent_at {ts},
        failed TEXT, failed_at {ts}, last_error TEXT)""",
    "CREATE INDEX notifications_created_at ON notifications (created_at)",
    """CREATE TABLE silences (
        id {id}, project TEXT NOT NULL, starts_at {ts} NOT NULL, ends_at {ts} NOT NULL,
        reason TEXT NOT NULL, created_by TEXT NOT NULL)""",
)

_V2_GOOD_NEWS = ("ALTER TABLE notifications ADD COLUMN good_news {bool} NOT NULL DEFAULT FALSE",)
"""A resolve or a recovery is sent as good news (apprise's success type), not as a failure."""

_V3_ALERT_CAUSE = (
    "ALTER TABLE alerts ADD COLUMN cause TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE alerts ADD COLUMN eta_s {real}",
)
"""An open alert remembers its cause and the forecast it told, to speak again when they move."""

_V4_BALANCE_AND_NAME = (
    "ALTER TABLE budgets ADD COLUMN limited_by TEXT NOT NULL DEFAULT 'throughput'",
    "ALTER TABLE budgets ADD COLUMN basis TEXT NOT NULL DEFAULT 'current'",
    "ALTER TABLE budgets ADD COLUMN eta_now_s {real}",
    "ALTER TABLE budgets ADD COLUMN refills {bool} NOT NULL DEFAULT FALSE",
    "ALTER TABLE emails ADD COLUMN project_name TEXT",
    "ALTER TABLE probe_status ADD COLUMN failing_since {ts}",
)
"""Which balance (bytes or operations) limits the budget and what its forecast assumes; the
project name an email gives."""

_V5_HIGH_AVAILABILITY = (
    """CREATE TABLE ha_lease (
        name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch INTEGER NOT NULL,
        expires_at {ts} NOT NULL, renewed_at {ts} NOT NULL)""",
    """CREATE TABLE ha_instances (
        name {sorted_text} PRIMARY KEY, role TEXT NOT NULL, epoch INTEGER,
        renewed_at {ts} NOT NULL)""",
    "ALTER TABLE notifications ADD COLUMN epoch INTEGER",
    "ALTER TABLE intents ADD COLUMN epoch INTEGER",
)
"""The leader lease with its fencing epoch, the instances beside it, and the epoch under which
a notification was claimed for sending or an intent written."""

_V6_PROJECT_LEASES = ("ALTER TABLE notifications ADD COLUMN lease TEXT",)
"""Instances sharing out projects: a project's messages are sent by its lease's holder."""

_V7_ONCALL = (
    """CREATE TABLE maintenance_windows (
        id {id}, project TEXT NOT NULL, starts_at {ts} NOT NULL, ends_at {ts} NOT NULL,
        reason TEXT NOT NULL, created_by TEXT NOT NULL)""",
    "CREATE INDEX maintenance_windows_ends_at ON maintenance_windows (ends_at)",
    """CREATE TABLE alert_acks (
        alert_key {sorted_text} NOT NULL, opened_at {ts} NOT NULL, project TEXT NOT NULL,
        acked_at {ts} NOT NULL, acked_by TEXT NOT NULL, PRIMARY KEY (alert_key, opened_at))""",
    """CREATE TABLE alert_escalations (
        alert_key {sorted_text} NOT NULL, opened_at {ts} NOT NULL, project TEXT NOT NULL,
        escalated_at {ts} NOT NULL, routes {json} NOT NULL,
        PRIMARY KEY (alert_key, opened_at))""",
)
"""Maintenance windows made with ``sbwatch maintenance``; who acknowledged which alert, and
which unacknowledged criticals were passed on to the escalation routes (once each)."""

_V8_INCIDENTS = (
    """CREATE TABLE incidents (
        id {id}, project TEXT NOT NULL, opened_at {ts} NOT NULL, closed_at {ts},
        cause TEXT NOT NULL, cause_rank INTEGER NOT NULL, summary TEXT NOT NULL)""",
    "CREATE INDEX incidents_project_opened_at ON incidents (project, opened_at)",
    """CREATE TABLE incident_events (
        id {id}, incident BIGINT NOT NULL, at {ts} NOT NULL, kind TEXT NOT NULL,
        text TEXT NOT NULL, data {json} NOT NULL)""",
    "CREATE INDEX incident_events_incident ON incident_events (incident, at)",
)
"""Incidents as records: each with its timeline (signals, messages, causes, actions, end)."""

_V9_PLAN_READINGS = (
    "ALTER TABLE io_samples ADD COLUMN swap_used_bytes {real}",
    "ALTER TABLE io_samples ADD COLUMN direct_connections {real}",
    "ALTER TABLE io_samples ADD COLUMN pooler_connections {real}",
)
"""What the plan needs beside the disk IO: swap in use and the connections of each scrape."""
_V10_BUDGET_KNOWLEDGE = (
    "ALTER TABLE budgets ADD COLUMN overdrawn {bool} NOT NULL DEFAULT FALSE",
    "ALTER TABLE budgets ADD COLUMN assumed {bool} NOT NULL DEFAULT FALSE",
)
"""What the estimate knows of itself: overdrawn (limits above the published ones), or a
level never read (assumed full at first start)."""

_V11_ALERT_PART_OF = ("ALTER TABLE alerts ADD COLUMN part_of {json} NOT NULL DEFAULT '[]'",)
"""The titles of the alerts a cause's alert took in, kept beside its body (an alert written
before has them in its body, as it said them)."""

_HISTORY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("initial schema", _V1_INITIAL),
    ("notifications: good news", _V2_GOOD_NEWS),
    ("alerts: cause and forecast", _V3_ALERT_CAUSE),
    ("budgets: limiting balance and forecast; emails: project name", _V4_BALANCE_AND_NAME),
    ("high availability: leader lease, instances, fencing epochs", _V5_HIGH_AVAILABILITY),
    ("notifications: the lease that sends them", _V6_PROJECT_LEASES),
    ("maintenance windows, acknowledgements, alert escalations", _V7_ONCALL),
    ("incidents and their timelines", _V8_INCIDENTS),
    ("io samples: swap and connections in use", _V9_PLAN_READINGS),
    ("budgets: overdrawn and a level assumed", _V10_BUDGET_KNOWLEDGE),
    ("alerts: the alerts a cause took in", _V11_ALERT_PART_OF),
)


def migrations(backend: Backend) -> tuple[Migration, ...]:
    """Every migration, oldest first, with its SQL rendered for one backend."""
    types = _TYPES[backend]
    return tuple(
        Migration(number, description, tuple(sql.format(**types) for sql in statements))
        for number, (description, statements) in enumerate(_HISTORY, start=1)
    )


def latest_version() -> int:
    """The version a fully migrated store reports."""
    return len(_HISTORY)
