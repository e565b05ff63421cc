"""The mail watcher's last state, kept for ``sbwatch status`` (light: status reads it without
the IMAP library)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sbwatch.ingest import MAIL_NAMESPACE, MAIL_WATCHER_KEY
from sbwatch.store.docs import field, moment, reading, slot

WatcherState = Literal["watching", "stopped"]


@dataclass(frozen=True, slots=True)
class MailWatcher:
    """Watching since ``at``, or stopped at ``at`` and why (``error``)."""

    state: WatcherState
    at: datetime
    error: str | None = None
    """What stopped it (stored only when stopped)."""

    def to_doc(self) -> dict[str, Any]:
        """``{"state": "watching", "at": ISO}`` or ``{"state": "stopped", "at": ISO,
        "error": "..."}``."""
        doc: dict[str, Any] = {"state": self.state, "at": self.at.isoformat()}
        if self.error is not None:
            doc["error"] = self.error
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MailWatcher:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""

        def build() -> MailWatcher:
            state = field(doc, "state", str)
            if state not in ("watching", "stopped"):
                raise ValueError(f"'state' is {state!r}, not watching or stopped")
            error = field(doc, "error", str) if "error" in doc else None
            return cls(state, moment(doc, "at"), error)

        return reading("mail watcher state", build)


MAIL_WATCHER = slot(MAIL_NAMESPACE, MAIL_WATCHER_KEY, MailWatcher)
"""Where the mail watcher's last state is kept."""
