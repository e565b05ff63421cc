"""The budget's stored state: the estimator's snapshots and the dashboard corrections.

The daemon keeps each project's estimator snapshot (``BudgetEstimator.to_state``) under
``(STATE_NAMESPACE, estimator_key(ref))``. ``sbwatch budget set`` writes a pending correction
under ``(STATE_NAMESPACE, correction_key(ref))``; on its next cycle the daemon reads it, calls
``BudgetEstimator.correct(*parse_correction(doc))`` and deletes it. The weekly right-sizing
notice (``watch/provider.py``) keeps when it last looked in the same namespace, under
``plan:REF``. The alert policy's timers are kept under ``("alerting", "policy:REF")``.
Each is read and written through its :class:`~sbwatch.store.docs.Slot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sbwatch.policy.alerts import PolicyState
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store.docs import Slot, slot

STATE_NAMESPACE = "budget"
"""Store state namespace of the estimator snapshots, the pending dashboard corrections and the
right-sizing notice's last look."""


def correction_key(ref: str) -> str:
    """Store key of a pending "% consumed" correction (written by ``sbwatch budget set``)."""
    return f"correction:{ref}"


def estimator_key(ref: str) -> str:
    """Store key of the estimator snapshot the daemon resumes from."""
    return f"estimator:{ref}"


@dataclass(frozen=True, slots=True)
class Correction:
    """A "% consumed" reading from the dashboard, waiting for the daemon to apply it."""

    consumed_pct: float
    at: datetime

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {"consumed_pct": float(self.consumed_pct), "at": self.at.isoformat()}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Correction:
        """The inverse of :meth:`to_doc`; ValueError when malformed."""
        try:
            pct = float(doc["consumed_pct"])
            at = datetime.fromisoformat(str(doc["at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed budget correction: {exc}") from None
        if not 0.0 <= pct <= 100.0 or at.tzinfo is None:
            raise ValueError("budget correction out of range or without a time zone")
        return cls(pct, at)


def correction_slot(ref: str) -> Slot[Correction]:
    """Where a project's pending correction is kept."""
    return slot(STATE_NAMESPACE, correction_key(ref), Correction)


def correction_doc(consumed_pct: float, at: datetime) -> dict[str, Any]:
    """The stored form of a correction."""
    return Correction(consumed_pct, at).to_doc()


def parse_correction(doc: dict[str, Any]) -> tuple[float, datetime]:
    """``(consumed_pct, at)`` from :func:`correction_doc`; ValueError when malformed."""
    correction = Correction.from_doc(doc)
    return correction.consumed_pct, correction.at


def estimator_slot(ref: str) -> Slot[BudgetEstimator]:
    """Where a project's estimator snapshot is kept, to resume from after a restart."""
    return Slot(
        STATE_NAMESPACE, estimator_key(ref), BudgetEstimator.from_state, BudgetEstimator.to_state
    )


def policy_slot(ref: str) -> Slot[PolicyState]:
    """Where a project's alert policy timers are kept between cycles."""
    return Slot("alerting", f"policy:{ref}", PolicyState.from_dict, PolicyState.to_dict)
