"""Row <-> value conversion shared by the SQLite and PostgreSQL stores (no SQL here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sbwatch.core.connections import ConnReading
from sbwatch.core.errors import StoreError
from sbwatch.core.facts import Fact, FactKind, recorded
from sbwatch.core.results import (
    Alert,
    BudgetEstimate,
    DataCheckKind,
    DataCheckResult,
    Diagnosis,
    DiagnosisKind,
    EmailKind,
    Incident,
    IncidentEvent,
    IncidentEventKind,
    Intent,
    IntentState,
    IoSample,
    Notification,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    ProviderEmail,
    Severity,
    Silence,
    Transition,
    Verdict,
)
from sbwatch.core.tiers import Tier

Row = Any
"""A database row addressable by column name (``sqlite3.Row`` or ``asyncpg.Record``)."""

TimeIn = Callable[[datetime], Any]
"""How a backend wants an aware UTC datetime as a query parameter."""

NOT_STORED = ("at", "connections", "auth_refused")
"""IoSample fields without a numeric column of their own: the time has its own, the connections
are kept in memory for the trend's window (watch/connections.py) but for the two in
``CONNECTION_COLUMNS``."""
IO_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(IoSample) if f.name not in NOT_STORED)
"""The numeric columns of the io_samples table, in IoSample field order."""
CONNECTION_COLUMNS = ("direct_connections", "pooler_connections")
"""The connections in use of each scrape, Postgres's and the pooler's (the plan's peak)."""

# Table columns named like the fields they hold, in parameter order (see ``params``).
PROBE_COLUMNS = ("project", "probe", "outcome", "at", "duration_s", "detail", "status_code", "data")
STATUS_COLUMNS = (
    "project", "probe", "state", "consecutive_ok", "consecutive_fail", "changed_at", "last",
    "failing_since",
)  # fmt: skip
TRANSITION_COLUMNS = ("project", "probe", "previous", "current", "at")
IO_SAMPLE_COLUMNS = ("project", "at", *IO_COLUMNS, *CONNECTION_COLUMNS)
BUDGET_COLUMNS = (
    "project", "at", "tier", "ratio", "burn_mbps", "eta_s", "confidence", "throughput_mbps", "iops",
    "limited_by", "basis", "eta_now_s", "refills", "overdrawn", "assumed",
)  # fmt: skip
EMAIL_COLUMNS = (
    "message_id", "kind", "project_ref", "received_at", "subject", "sender", "trusted",
    "trust_reason", "project_name",
)  # fmt: skip
DIAGNOSIS_COLUMNS = ("project", "at", "kind", "confidence", "evidence", "service")
ALERT_COLUMNS = (
    "key", "project", "severity", "title", "body", "opened_at", "last_sent_at", "closed_at",
    "cause", "eta_s", "part_of",
)  # fmt: skip
INTENT_COLUMNS = (
    "project", "from_tier", "to_tier", "reason", "actor", "created_at", "state", "updated_at",
    "detail",
)  # fmt: skip
NOTIFICATION_COLUMNS = (
    "alert_key",
    "route",
    "severity",
    "title",
    "body",
    "created_at",
    "good_news",
    "lease",
)
SILENCE_COLUMNS = ("project", "starts_at", "ends_at", "reason", "created_by")


# -- scalars ------------------------------------------------------------------------------
def utc(value: datetime) -> datetime:
    """An aware datetime converted to UTC; naive datetimes are a bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to the state store; use aware UTC")
    return value.astimezone(UTC)


def ts_text(value: datetime) -> str:
    """Fixed-width ISO text that sorts like the instant it names (for SQLite)."""
    return utc(value).isoformat(timespec="microseconds")


def ts_out(value: datetime | str | None) -> datetime | None:
    """A stored timestamp (ISO text or a driver datetime) as an aware UTC datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def ts_req(value: datetime | str) -> datetime:
    """A NOT NULL stored timestamp as an aware UTC datetime."""
    result = ts_out(value)
    if result is None:
        raise StoreError("a required timestamp is missing", transient=False)
    return result


def dump_json(value: Any) -> str:
    """Compact JSON text; a value JSON cannot hold is a permanent store error."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}", transient=False) from exc


def load_json(value: str | None) -> Any:
    """Parsed JSON text, or None."""
    return None if value is None else json.loads(value)


def encode(value: Any, ts: TimeIn) -> Any:
    """One field as a query parameter: enums by value, datetimes via ``ts``, containers as JSON."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return ts(value)
    if isinstance(value, dict | list | tuple):
        return dump_json(list(value) if isinstance(value, tuple) else value)
    return value


def params(value: Any, columns: Sequence[str], ts: TimeIn) -> tuple[Any, ...]:
    """The fields of a value named by ``columns``, encoded, in that order."""
    return tuple(encode(getattr(value, column), ts) for column in columns)


# -- probes -------------------------------------------------------------------------------
def probe_from_row(row: Row) -> ProbeResult:
    """A ProbeResult from a probe_results row."""
    return ProbeResult(
        project=row["project"],
        probe=ProbeKind(row["probe"]),
        outcome=Outcome(row["outcome"]),
        at=ts_req(row["at"]),
        duration_s=row["duration_s"],
        detail=row["detail"],
        status_code=row["status_code"],
        data=load_json(row["data"]),
        skipped_lines=_optional(row, "skipped_lines", 0),
        retry_after_s=_optional(row, "retry_after_s", None),
        checks=tuple(check_from_doc(doc) for doc in _optional(row, "checks", None) or ()),
    )


def _optional(row: Row, key: str, default: Any) -> Any:
    """A value only the JSON form of a result carries (its table has no such column)."""
    try:
        return row[key]
    except (KeyError, IndexError):  # a dict or asyncpg Record; sqlite3.Row raises IndexError
        return default


def probe_to_doc(r: ProbeResult | None) -> str | None:
    """A probe result as one JSON document (the ``last`` of a probe status)."""
    if r is None:
        return None
    # shallow: dump_json copies nothing; the sample is kept in io_samples, not here, and the
    # host readings (memory, swap, CPU) only in the watcher's memory
    left_out = ("sample", "checks", "host")
    doc = {f.name: getattr(r, f.name) for f in fields(r) if f.name not in left_out}
    doc["at"] = ts_text(r.at)
    if r.checks:
        doc["checks"] = [check_to_doc(check) for check in r.checks]
    return dump_json(doc)


def check_to_doc(check: DataCheckResult) -> dict[str, Any]:
    """One data check result as a JSON-ready dict (ISO time)."""
    return {f.name: encode_plain(getattr(check, f.name)) for f in fields(check)}


def encode_plain(value: Any) -> Any:
    """Enums by value, datetimes as ISO text, the rest as it is."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return ts_text(value)
    return value


def check_from_doc(doc: dict[str, Any]) -> DataCheckResult:
    """The inverse of :func:`check_to_doc`."""
    return DataCheckResult(
        name=doc["name"],
        kind=DataCheckKind(doc["kind"]),
        table=doc["table"],
        verdict=Verdict(doc["verdict"]),
        value=doc.get("value"),
        detail=doc.get("detail", ""),
        empty_since=ts_out(doc.get("empty_since")),
    )


def probe_from_doc(text: str | None) -> ProbeResult | None:
    """The inverse of :func:`probe_to_doc`."""
    doc = load_json(text)
    if doc is None:
        return None
    return probe_from_row(doc | {"data": dump_json(doc["data"])})


def status_params(s: ProbeStatus, ts: TimeIn) -> tuple[Any, ...]:
    """Parameters in STATUS_COLUMNS order."""
    changed = ts(s.changed_at) if s.changed_at is not None else None
    return (
        s.project,
        s.probe.value,
        s.state.value,
        s.consecutive_ok,
        s.consecutive_fail,
        changed,
        probe_to_doc(s.last),
        ts(s.failing_since) if s.failing_since is not None else None,
    )


def status_from_row(row: Row) -> ProbeStatus:
    """A ProbeStatus from a probe_status row."""
    return ProbeStatus(
        project=row["project"],
        probe=ProbeKind(row["probe"]),
        state=ProbeState(row["state"]),
        consecutive_ok=row["consecutive_ok"],
        consecutive_fail=row["consecutive_fail"],
        changed_at=ts_out(row["changed_at"]),
        last=probe_from_doc(row["last"]),
        failing_since=ts_out(row["failing_since"]),
    )


def transition_from_row(row: Row) -> Transition:
    """A Transition from a transitions row."""
    return Transition(
        project=row["project"],
        probe=ProbeKind(row["probe"]),
        previous=ProbeState(row["previous"]),
        current=ProbeState(row["current"]),
        at=ts_req(row["at"]),
    )


# -- disk IO ------------------------------------------------------------------------------
def io_params(project: str, s: IoSample, ts: TimeIn) -> tuple[Any, ...]:
    """Parameters in IO_SAMPLE_COLUMNS order."""
    conn = s.connections
    used = (None, None) if conn is None else (conn.direct_used, conn.pooler_used)
    return (project, ts(s.at), *(getattr(s, name) for name in IO_COLUMNS), *used)


def io_from_row(row: Row) -> IoSample:
    """An IoSample from an io_samples row; its connections are the two kept in use, if any."""
    direct, pooler = (row[name] for name in CONNECTION_COLUMNS)
    conn = None
    if direct is not None or pooler is not None:
        conn = ConnReading(direct_used=direct, pooler_used=pooler)
    values = {name: row[name] for name in IO_COLUMNS}
    return IoSample(at=ts_req(row["at"]), connections=conn, **values)


def budget_from_row(row: Row) -> BudgetEstimate:
    """A BudgetEstimate from a budgets row."""
    return BudgetEstimate(
        project=row["project"],
        at=ts_req(row["at"]),
        tier=Tier(row["tier"]),
        ratio=row["ratio"],
        burn_mbps=row["burn_mbps"],
        eta_s=row["eta_s"],
        confidence=row["confidence"],
        throughput_mbps=row["throughput_mbps"],
        iops=row["iops"],
        limited_by=row["limited_by"],
        basis=row["basis"],
        eta_now_s=row["eta_now_s"],
        refills=bool(row["refills"]),
        overdrawn=bool(row["overdrawn"]),
        assumed=bool(row["assumed"]),
    )


# -- emails and diagnoses ----------------------------------------------------------------
def email_from_row(row: Row) -> ProviderEmail:
    """A ProviderEmail from an emails row."""
    return ProviderEmail(
        message_id=row["message_id"],
        kind=EmailKind(row["kind"]),
        project_ref=row["project_ref"],
        received_at=ts_req(row["received_at"]),
        subject=row["subject"],
        sender=row["sender"],
        trusted=bool(row["trusted"]),
        trust_reason=row["trust_reason"],
        project_name=row["project_name"],
    )


def diagnosis_params(diagnosis: Diagnosis, ts: TimeIn) -> tuple[Any, ...]:
    """A diagnoses row: the evidence is kept in the words it was said in (the watch records a
    diagnosis said, its facts ``FactKind.RECORDED``: the store knows no words)."""
    lines = dump_json([_said(fact) for fact in diagnosis.evidence])
    return tuple(
        lines if column == "evidence" else encode(getattr(diagnosis, column), ts)
        for column in DIAGNOSIS_COLUMNS
    )


def _said(fact: Fact) -> str:
    if fact.kind is not FactKind.RECORDED or fact.text is None:
        raise StoreError(
            f"a diagnosis's {fact.kind} fact is stored in words: record the diagnosis said",
            transient=False,
        )
    return fact.text


def diagnosis_from_row(row: Row) -> Diagnosis:
    """A Diagnosis from a diagnoses row: history, its evidence the lines as they were said."""
    return Diagnosis(
        project=row["project"],
        at=ts_req(row["at"]),
        kind=DiagnosisKind(row["kind"]),
        confidence=row["confidence"],
        evidence=tuple(recorded(line) for line in load_json(row["evidence"])),
        service=row["service"],
    )


# -- journal, alerts, outbox, silences ---------------------------------------------------
def intent_params(
    project: str, from_tier: Tier, to_tier: Tier, reason: str, actor: str, at: datetime, ts: TimeIn
) -> tuple[Any, ...]:
    """Parameters in INTENT_COLUMNS order for a new OPEN intent."""
    opened = IntentState.OPEN.value
    return (project, from_tier.value, to_tier.value, reason, actor, ts(at), opened, ts(at), "")


def intent_from_row(row: Row) -> Intent:
    """An Intent from an intents row."""
    return Intent(
        id=row["id"],
        project=row["project"],
        from_tier=Tier(row["from_tier"]),
        to_tier=Tier(row["to_tier"]),
        reason=row["reason"],
        actor=row["actor"],
        created_at=ts_req(row["created_at"]),
        state=IntentState(row["state"]),
        updated_at=ts_req(row["updated_at"]),
        detail=row["detail"],
        recovered_s=row["recovered_s"],
    )


def alert_from_row(row: Row) -> Alert:
    """An Alert from an alerts row."""
    return Alert(
        key=row["key"],
        project=row["project"],
        severity=Severity(row["severity"]),
        title=row["title"],
        body=row["body"],
        opened_at=ts_req(row["opened_at"]),
        last_sent_at=ts_out(row["last_sent_at"]),
        closed_at=ts_out(row["closed_at"]),
        cause=row["cause"],
        eta_s=row["eta_s"],
        part_of=tuple(load_json(row["part_of"])),
    )


def notification_params(
    alert_key: str,
    route: str,
    severity: Severity,
    title: str,
    body: str,
    at: datetime,
    ts: TimeIn,
    good_news: bool,
    lease: str | None,
) -> tuple[Any, ...]:
    """Parameters in NOTIFICATION_COLUMNS order."""
    return (alert_key, route, severity.value, title, body, ts(at), good_news, lease)


def notification_from_row(row: Row) -> Notification:
    """A Notification from a notifications row."""
    return Notification(
        id=row["id"],
        alert_key=row["alert_key"],
        route=row["route"],
        severity=Severity(row["severity"]),
        title=row["title"],
        body=row["body"],
        created_at=ts_req(row["created_at"]),
        attempts=row["attempts"],
        next_attempt_at=ts_out(row["next_attempt_at"]),
        sent_at=ts_out(row["sent_at"]),
        failed=row["failed"],
        good_news=bool(row["good_news"]),
        lease=row["lease"],
    )


def silence_params(
    project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str, ts: TimeIn
) -> tuple[Any, ...]:
    """Parameters in SILENCE_COLUMNS order."""
    return (project, ts(starts_at), ts(ends_at), reason, created_by)


def silence_from_row(row: Row) -> Silence:
    """A Silence from a silences row."""
    return Silence(
        id=row["id"],
        project=row["project"],
        starts_at=ts_req(row["starts_at"]),
        ends_at=ts_req(row["ends_at"]),
        reason=row["reason"],
        created_by=row["created_by"],
    )


INCIDENT_COLUMNS = ("project", "opened_at", "cause", "cause_rank", "summary")
INCIDENT_EVENT_COLUMNS = ("incident", "at", "kind", "text", "data")


def incident_from_row(row: Row) -> Incident:
    """An Incident from an incidents row."""
    return Incident(
        id=row["id"],
        project=row["project"],
        opened_at=ts_req(row["opened_at"]),
        cause=row["cause"],
        cause_rank=row["cause_rank"],
        closed_at=ts_out(row["closed_at"]),
        summary=row["summary"],
    )


def incident_event_from_row(row: Row) -> IncidentEvent:
    """An IncidentEvent from an incident_events row."""
    return IncidentEvent(
        incident=row["incident"],
        at=ts_req(row["at"]),
        kind=IncidentEventKind(row["kind"]),
        text=row["text"],
        data=load_json(row["data"]) or {},
    )
