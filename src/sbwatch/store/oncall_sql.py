"""Maintenance windows, acknowledgements and alert escalations, in SQL both backends accept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sbwatch.core.oncall import Ack, AlertEscalation, MaintenanceWindow
from sbwatch.store.codec import Row, dump_json, load_json, ts_req

_WINDOW_COLUMNS = ("project", "starts_at", "ends_at", "reason", "created_by")
_ACK_COLUMNS = ("alert_key", "opened_at", "project", "acked_at", "acked_by")
_ESCALATION_COLUMNS = ("alert_key", "opened_at", "project", "escalated_at", "routes")


def _window(row: Row) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=int(row["id"]),
        project=str(row["project"]),
        starts_at=ts_req(row["starts_at"]),
        ends_at=ts_req(row["ends_at"]),
        reason=str(row["reason"]),
        created_by=str(row["created_by"]),
    )


def _ack(row: Row) -> Ack:
    return Ack(
        alert_key=str(row["alert_key"]),
        project=str(row["project"]),
        opened_at=ts_req(row["opened_at"]),
        acked_at=ts_req(row["acked_at"]),
        acked_by=str(row["acked_by"]),
    )


def _escalation(row: Row) -> AlertEscalation:
    routes = row["routes"]
    return AlertEscalation(
        alert_key=str(row["alert_key"]),
        project=str(row["project"]),
        opened_at=ts_req(row["opened_at"]),
        escalated_at=ts_req(row["escalated_at"]),
        routes=tuple(load_json(routes) if isinstance(routes, str) else routes),
    )


def _insert(table: str, columns: Sequence[str], tail: str) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {tail}"


class OncallSql(ABC):
    """The on-call part of the Store protocol over a backend's primitives."""

    @abstractmethod
    def _ts(self, value: datetime) -> Any:
        """An aware datetime as this backend's query parameter."""

    @abstractmethod
    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[Row]:
        """Run one statement (inside a write transaction when ``tx``); its rows."""

    # -- maintenance windows ----------------------------------------------------------------
    async def add_maintenance(
        self, project: str, starts_at: datetime, ends_at: datetime, reason: str, created_by: str
    ) -> MaintenanceWindow:
        """Add a maintenance window (project ``*``: every project)."""
        values = (project, self._ts(starts_at), self._ts(ends_at), reason, created_by)
        sql = _insert("maintenance_windows", _WINDOW_COLUMNS, "RETURNING *")
        return _window((await self._fetch("add_maintenance", sql, values))[0])

    async def maintenance_windows(
        self, ending_after: datetime | None = None
    ) -> list[MaintenanceWindow]:
        """Every window, or those ending after a time (in force then, later or planned);
        by start."""
        where, values = "1 = 1", []
        if ending_after is not None:
            where, values = "ends_at > ?", [self._ts(ending_after)]
        sql = f"SELECT * FROM maintenance_windows WHERE {where} ORDER BY starts_at, id"
        return [_window(row) for row in await self._fetch("maintenance_windows", sql, values)]

    async def end_maintenance(self, window_id: int, at: datetime) -> MaintenanceWindow | None:
        """End a window at ``at`` (a planned one is then over before it began); None when
        there is no such window or it had already ended by then."""
        sql = (
            "UPDATE maintenance_windows SET ends_at = ?,"
            " starts_at = CASE WHEN starts_at > ? THEN ? ELSE starts_at END"
            " WHERE id = ? AND ends_at > ? RETURNING *"
        )
        when = self._ts(at)
        rows = await self._fetch("end_maintenance", sql, (when, when, when, window_id, when))
        return _window(rows[0]) if rows else None

    # -- acknowledgements and alert escalations ------------------------------------------------
    async def ack_alert(
        self, alert_key: str, project: str, opened_at: datetime, at: datetime, by: str
    ) -> Ack:
        """Record that ``by`` took the alert opened at ``opened_at``; the first one stands
        (a second ack returns it unchanged)."""
        values = (alert_key, self._ts(opened_at), project, self._ts(at), by)
        tail = "ON CONFLICT (alert_key, opened_at) DO NOTHING RETURNING *"
        rows = await self._fetch("ack_alert", _insert("alert_acks", _ACK_COLUMNS, tail), values)
        if rows:
            return _ack(rows[0])
        sql = "SELECT * FROM alert_acks WHERE alert_key = ? AND opened_at = ?"
        return _ack((await self._fetch("ack_alert", sql, values[:2]))[0])

    async def acks(self, project: str | None = None) -> list[Ack]:
        """Acknowledgements (of one project, or all), oldest first."""
        where, values = ("project = ?", [project]) if project is not None else ("1 = 1", [])
        sql = f"SELECT * FROM alert_acks WHERE {where} ORDER BY acked_at, alert_key"
        return [_ack(row) for row in await self._fetch("acks", sql, values)]

    async def claim_alert_escalation(
        self,
        alert_key: str,
        project: str,
        opened_at: datetime,
        at: datetime,
        routes: Sequence[str],
    ) -> bool:
        """Record that the alert opened at ``opened_at`` is passed on to ``routes``; False
        (nothing written) when it already was: an alert is passed on once."""
        values = (alert_key, self._ts(opened_at), project, self._ts(at), dump_json(list(routes)))
        tail = "ON CONFLICT (alert_key, opened_at) DO NOTHING RETURNING alert_key"
        sql = _insert("alert_escalations", _ESCALATION_COLUMNS, tail)
        return bool(await self._fetch("claim_alert_escalation", sql, values, tx=True))

    async def alert_escalations(self, project: str | None = None) -> list[AlertEscalation]:
        """Alerts passed on to the escalation routes (of one project, or all), oldest first."""
        where, values = ("project = ?", [project]) if project is not None else ("1 = 1", [])
        sql = f"SELECT * FROM alert_escalations WHERE {where} ORDER BY escalated_at, alert_key"
        return [_escalation(row) for row in await self._fetch("alert_escalations", sql, values)]
