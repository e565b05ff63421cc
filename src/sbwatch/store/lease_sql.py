"""The leader lease, the instances table and fenced writes, in SQL both backends accept.

Expiry is judged by the database's clock (``now()`` in PostgreSQL), never an instance's, so
instances whose clocks disagree still agree on when a lease has run out. Every take increments
the fencing epoch; a fenced write checks the lease's current epoch in the same statement and
is refused for any older one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sbwatch.core.errors import Fenced
from sbwatch.core.lease import LEASE_NAME, InstanceRecord, Lease, Role
from sbwatch.store.codec import Row, ts_req

_LEASE_COLUMNS = "holder, epoch, expires_at, renewed_at"


def _lease(rows: list[Row]) -> Lease | None:
    if not rows:
        return None
    row = rows[0]
    return Lease(
        str(row["holder"]),
        int(row["epoch"]),
        ts_req(row["expires_at"]),
        ts_req(row["renewed_at"]),
    )


class LeaseSql(ABC):
    """The high availability part of the Store protocol over a backend's primitives."""

    @abstractmethod
    def _db_now(self, plus_seconds: bool = False) -> str:
        """SQL for the database's current time (plus one ``?`` parameter of seconds)."""

    @abstractmethod
    def _share_lock(self) -> str:
        """A locking clause for reading the lease inside a write ('' where writes serialise)."""

    @abstractmethod
    def _ts(self, value: datetime) -> Any:
        """An aware datetime as this backend's query parameter."""

    @abstractmethod
    async def _fetch(
        self, op: str, sql: str, params: Sequence[Any] = (), *, tx: bool = False
    ) -> list[Row]:
        """Run one statement (inside a write transaction when ``tx``); its rows."""

    def _current_epoch(self) -> str:
        """A condition true while the second ``?`` is the epoch of the lease named by the first
        (the lease row read locked)."""
        return f"EXISTS (SELECT 1 FROM ha_lease WHERE name = ? AND epoch = ? {self._share_lock()})"

    async def take_lease(self, holder: str, ttl_s: float, name: str = LEASE_NAME) -> Lease | None:
        """Take the lease when it is free, expired or already ``holder``'s, under a new epoch;
        None while another holds it."""
        now, until = self._db_now(), self._db_now(plus_seconds=True)
        sql = (
            "INSERT INTO ha_lease (name, holder, epoch, expires_at, renewed_at)"
            f" VALUES (?, ?, 1, {until}, {now})"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " epoch = ha_lease.epoch + 1, expires_at = excluded.expires_at,"
            " renewed_at = excluded.renewed_at"
            f" WHERE ha_lease.expires_at < {now} OR ha_lease.holder = excluded.holder"
            f" RETURNING {_LEASE_COLUMNS}"
        )
        params = (name, holder, float(ttl_s))
        return _lease(await self._fetch("take_lease", sql, params, tx=True))

    async def take_leases(self, holder: str, names: Sequence[str], ttl_s: float) -> dict[str, int]:
        """Take each named lease that is free, expired or already ``holder``'s, in one
        statement, each under a new epoch; the epochs of those taken, by name."""
        if not names:
            return {}
        now, until = self._db_now(), self._db_now(plus_seconds=True)
        values = ", ".join(f"(?, ?, 1, {until}, {now})" for _ in names)
        sql = (
            f"INSERT INTO ha_lease (name, holder, epoch, expires_at, renewed_at) VALUES {values}"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " epoch = ha_lease.epoch + 1, expires_at = excluded.expires_at,"
            " renewed_at = excluded.renewed_at"
            f" WHERE ha_lease.expires_at < {now} OR ha_lease.holder = excluded.holder"
            " RETURNING name, epoch"
        )
        params = [value for name in names for value in (name, holder, float(ttl_s))]
        rows = await self._fetch("take_leases", sql, params, tx=True)
        return {str(row["name"]): int(row["epoch"]) for row in rows}

    async def renew_lease(
        self, holder: str, epoch: int, ttl_s: float, name: str = LEASE_NAME
    ) -> Lease | None:
        """Extend the lease ``holder`` holds under ``epoch``; None when it is no longer so."""
        sql = (
            f"UPDATE ha_lease SET expires_at = {self._db_now(plus_seconds=True)},"
            f" renewed_at = {self._db_now()} WHERE name = ? AND holder = ? AND epoch = ?"
            f" RETURNING {_LEASE_COLUMNS}"
        )
        params = (float(ttl_s), name, holder, epoch)
        return _lease(await self._fetch("renew_lease", sql, params, tx=True))

    async def renew_leases(self, holder: str, prefix: str, ttl_s: float) -> dict[str, int]:
        """Extend every lease ``holder`` holds whose name starts with ``prefix``, in one
        statement; the epoch of each, by name."""
        sql = (
            f"UPDATE ha_lease SET expires_at = {self._db_now(plus_seconds=True)},"
            f" renewed_at = {self._db_now()} WHERE holder = ? AND substr(name, 1, ?) = ?"
            " RETURNING name, epoch"
        )
        params = (float(ttl_s), holder, len(prefix), prefix)
        rows = await self._fetch("renew_leases", sql, params, tx=True)
        return {str(row["name"]): int(row["epoch"]) for row in rows}

    async def release_lease(self, holder: str, epoch: int, name: str = LEASE_NAME) -> bool:
        """Let the lease expire (a clean stop), if ``holder`` still holds it under ``epoch``.

        It is made to have expired a second ago: a take in the same clock tick (expiry is
        ``expires_at < now``, at millisecond resolution in SQLite) finds it free."""
        sql = (
            f"UPDATE ha_lease SET expires_at = {self._db_now(plus_seconds=True)}"
            f" WHERE name = ? AND holder = ? AND epoch = ? RETURNING epoch"
        )
        params = (-1.0, name, holder, epoch)
        return bool(await self._fetch("release_lease", sql, params, tx=True))

    async def release_leases(self, holder: str, prefix: str) -> int:
        """Let every lease ``holder`` holds whose name starts with ``prefix`` expire now (a
        clean stop); how many."""
        sql = (
            f"UPDATE ha_lease SET expires_at = {self._db_now(plus_seconds=True)}"
            " WHERE holder = ? AND substr(name, 1, ?) = ? RETURNING name"
        )
        params = (-1.0, holder, len(prefix), prefix)
        return len(await self._fetch("release_leases", sql, params, tx=True))

    async def current_lease(self, name: str = LEASE_NAME) -> Lease | None:
        """The lease row as stored (expired or not), None when no instance ever took it."""
        sql = f"SELECT {_LEASE_COLUMNS} FROM ha_lease WHERE name = ?"
        return _lease(await self._fetch("current_lease", sql, (name,)))

    async def leases(self, prefix: str) -> dict[str, Lease]:
        """Every lease whose name starts with ``prefix`` that has not expired, by name."""
        sql = (
            f"SELECT name, {_LEASE_COLUMNS} FROM ha_lease WHERE substr(name, 1, ?) = ?"
            f" AND expires_at >= {self._db_now()} ORDER BY name"
        )
        rows = await self._fetch("leases", sql, (len(prefix), prefix))
        return {str(row["name"]): lease for row in rows if (lease := _lease([row])) is not None}

    async def live_instances(self, within_s: float) -> list[str]:
        """The instances (not stopped) that said something in the last ``within_s`` seconds
        (database time), by name."""
        sql = (
            "SELECT name FROM ha_instances WHERE role <> ?"
            f" AND renewed_at >= {self._db_now(plus_seconds=True)} ORDER BY name"
        )
        rows = await self._fetch("live_instances", sql, (Role.STOPPED.value, -float(within_s)))
        return [str(row["name"]) for row in rows]

    async def record_instance(self, name: str, role: Role, epoch: int | None) -> None:
        """Insert or replace what an instance says about itself, renewed now (database time)."""
        sql = (
            "INSERT INTO ha_instances (name, role, epoch, renewed_at)"
            f" VALUES (?, ?, ?, {self._db_now()})"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, epoch = excluded.epoch,"
            " renewed_at = excluded.renewed_at"
        )
        await self._fetch("record_instance", sql, (name, role.value, epoch))

    async def instances(self) -> list[InstanceRecord]:
        """Every instance that ever ran on this store, by name."""
        sql = "SELECT name, role, epoch, renewed_at FROM ha_instances ORDER BY name"
        return [
            InstanceRecord(
                str(row["name"]),
                Role(row["role"]),
                None if row["epoch"] is None else int(row["epoch"]),
                ts_req(row["renewed_at"]),
            )
            for row in await self._fetch("instances", sql)
        ]

    async def claim_notification(
        self, notification_id: int, epoch: int, lease: str = LEASE_NAME
    ) -> bool:
        """Mark an unsent notification as being sent under ``epoch``; False (nothing written)
        when it was sent or failed meanwhile, or when ``epoch`` is no longer ``lease``'s."""
        sql = (
            "UPDATE notifications SET epoch = ? WHERE id = ? AND sent_at IS NULL"
            f" AND failed IS NULL AND {self._current_epoch()} RETURNING id"
        )
        params = (epoch, notification_id, lease, epoch)
        return bool(await self._fetch("claim_notification", sql, params, tx=True))

    async def _insert_fenced(
        self,
        table: str,
        columns: Sequence[str],
        params: Sequence[Any],
        epoch: int,
        lease: str = LEASE_NAME,
    ) -> list[Row]:
        """INSERT one row carrying ``epoch`` only while it is ``lease``'s; Fenced otherwise."""
        marks = ", ".join("?" for _ in (*columns, "epoch"))
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}, epoch) SELECT {marks}"
            f" WHERE {self._current_epoch()} RETURNING *"
        )
        rows = await self._fetch(f"insert {table}", sql, (*params, epoch, lease, epoch), tx=True)
        if not rows:
            raise Fenced(f"epoch {epoch} is no longer {lease}'s: another instance leads")
        return rows
