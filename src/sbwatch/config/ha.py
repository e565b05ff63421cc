"""The ``[ha]`` table: several instances on one PostgreSQL store, one of them leading."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from sbwatch.config.types import PositiveDuration
from sbwatch.config.types import StrictModel as _Model


class HaSettings(_Model):
    """High availability: every instance probes and diagnoses; the lease holder alone
    escalates and sends notifications (with ``share_projects``, per project)."""

    enabled: bool = False
    instance: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9_.:@-]{1,64}$")
    """This instance's name in the lease and in ``sbwatch status``; default: the hostname."""
    lease: PositiveDuration = timedelta(seconds=20)
    """A lease not renewed for this long (database time) may be taken by a standby."""
    renew_every: PositiveDuration = timedelta(seconds=5)
    """How often the leader renews and a standby tries to take the lease. The leader stops
    acting once its last renewal is older than ``lease - renew_every`` (its own clock)."""
    notify_takeover: bool = False
    """Also send a notice when an instance takes over the lead (it is always logged)."""
    share_projects: bool = False
    """Share the projects out among the instances: each project has a lease of its own, and
    only its holder probes, diagnoses, escalates and alerts for it. Adding an instance adds
    capacity; the projects of an instance that dies move to the others."""

    @model_validator(mode="after")
    def _renewals_fit_the_lease(self) -> HaSettings:
        if self.renew_every * 2 > self.lease:
            raise ValueError("renew_every must be at most half of lease")
        return self

    @property
    def lease_s(self) -> float:
        """The lease in seconds."""
        return self.lease.total_seconds()

    @property
    def renew_s(self) -> float:
        """The renewal interval in seconds."""
        return self.renew_every.total_seconds()

    @property
    def acting_s(self) -> float:
        """How long after its last renewal the leader still acts: the lease less one renewal
        interval, a margin for clock rates and for the action in flight when it stops."""
        return self.lease_s - self.renew_s


def _host_and_user(dsn: str) -> tuple[str, str]:
    """The host and user of a PostgreSQL URL ('' when it has none or cannot be read)."""
    try:
        parts = urlsplit(dsn)
        return (parts.hostname or "").lower(), (parts.username or "").lower()
    except ValueError:
        return "", ""


def store_on_a_watched_project(
    state_dsn: str, projects: Iterable[tuple[str, str | None]]
) -> str | None:
    """The ref of a watched project whose own database the state store lives on, or None.

    ``projects``: (ref, db_dsn) pairs. A match is the same host as a project's db_dsn, or the
    project's ref in the store's host or user (``db.REF.supabase.co``, ``postgres.REF``).
    """
    host, user = _host_and_user(state_dsn)
    if not host:
        return None
    for ref, db_dsn in projects:
        own_host = _host_and_user(db_dsn)[0] if db_dsn else ""
        if host == own_host or ref.lower() in host or ref.lower() in user:
            return ref
    return None
