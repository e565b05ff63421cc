"""What an alert is about: the closed set of subjects, and the key of one alert.

The key's text (``<project>:<subject>``) is what the store, the outbox and the JSON outputs
hold; ``AlertKey`` is the value code passes around and reads the project and subject from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Subject(StrEnum):
    """What an alert of a project is about: one open alert of each at a time."""

    DIAGNOSIS = "diagnosis"
    IO_BUDGET = "io_budget"
    MGMT_API = "mgmt_api"
    """The Management API's own trouble (the lever, not the project)."""
    DISK_SPACE = "disk_space"
    CONNECTIONS = "connections"
    AUTH_LIMITS = "auth_limits"
    TOKEN = "token"
    """The Management API token: expiring or refused."""
    ESCALATION = "escalation"
    """Compute changes: raising, refused, recovered."""
    INCIDENT = "incident"
    MAIL = "mail"
    SIZE = "size"
    PLAN = "plan"
    BACKUP = "backup"
    HA = "ha"
    DAEMON = "daemon"
    CONFIG = "config"
    STORE = "store"
    DELIVERY = "delivery"
    """A message a route refused for good."""


class BudgetCause(StrEnum):
    """What an IO budget alert is about: a change of cause on an open alert is said again."""

    FAILING = "failing"
    """Used up, and the services fail from it."""
    USED_UP = "used_up"
    """Used up: IO held at the baseline."""
    DRAINING = "draining"
    """Forecast to run out."""
    PROVIDER_WARNING = "provider_warning"
    """Only the provider's email says it runs low (no estimate)."""


class Family(StrEnum):
    """Subjects with a name of their own: one alert per service, per data check."""

    SERVICE = "service"
    DATA = "data"


def named(family: Family, name: str) -> str:
    """The subject of one member of a family: ``service:rest``, ``data:orders_fresh``."""
    return f"{family}:{name}"


@dataclass(frozen=True, slots=True)
class AlertKey:
    """The dedupe key of an alert: the project and the subject."""

    project: str
    subject: str
    """A ``Subject``, or one member of a ``Family`` (``service:rest``)."""

    def __str__(self) -> str:
        return f"{self.project}:{self.subject}"

    @classmethod
    def parse(cls, text: str) -> AlertKey:
        """The key a stored ``<project>:<subject>`` names (a ref holds no colon; a family's
        subject does)."""
        project, _, subject = text.partition(":")
        return cls(project, subject)
