"""What a probe read, as typed values: the Management API's health of a project and the
provider's status page. A result keeps them as JSON (its ``data``, as stored); each reading
reads itself back from there, in this one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _names(value: Any) -> dict[str, str]:
    """A JSON object of names to statuses (empty when it is not one)."""
    if not isinstance(value, Mapping):
        return {}
    return {str(name): str(status) for name, status in value.items()}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class MgmtHealth:
    """What the Management API answered of a project: its status and each service's."""

    project_status: str | None
    services: dict[str, str] = field(default_factory=dict)
    """Service name (``db``, ``auth``...) to its status (``ACTIVE_HEALTHY``...)."""

    def to_doc(self) -> dict[str, Any]:
        """The JSON form a result keeps (and the store)."""
        return {"project_status": self.project_status, "services": dict(self.services)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MgmtHealth | None:
        """The reading of a result's JSON; None when the API gave none (a failed call)."""
        if doc.get("services") is None and doc.get("project_status") is None:
            return None
        return cls(_text(doc.get("project_status")), _names(doc.get("services")))


@dataclass(frozen=True, slots=True)
class StatusPage:
    """What the provider's status page showed: its overall indicator and each component's."""

    indicator: str | None
    components: dict[str, str] = field(default_factory=dict)
    """Component name (``Database``...) to its status (``operational``, ``major_outage``...)."""

    def to_doc(self) -> dict[str, Any]:
        """The JSON form a result keeps (and the store)."""
        return {"indicator": self.indicator, "components": dict(self.components)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StatusPage | None:
        """The reading of a result's JSON; None when the page was not read."""
        if doc.get("indicator") is None and doc.get("components") is None:
            return None
        return cls(_text(doc.get("indicator")), _names(doc.get("components")))


Reading = MgmtHealth | StatusPage
"""Every typed reading a probe result may carry."""
