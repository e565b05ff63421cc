"""The budget's stored state: the estimator's snapshots and the dashboard corrections.

The daemon keeps each project's estimator snapshot (``BudgetEstimator.to_state``) under
``(STATE_NAMESPACE, estimator_key(ref))``. ``sbwatch budget set`` writes a pending correction
under ``(STATE_NAMESPACE, correction_key(ref))``; on its next cycle the daemon reads it, calls
``BudgetEstimator.correct(*parse_correction(doc))`` and deletes it. The weekly right-sizing
notice (``watch/provider.py``) keeps when it last looked in the same namespace, under
``plan:REF``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

STATE_NAMESPACE = "budget"
"""Store state namespace of the estimator snapshots, the pending dashboard corrections and the
right-sizing notice's last look."""


def correction_key(ref: str) -> str:
    """Store key of a pending "% consumed" correction (written by ``sbwatch budget set``)."""
    return f"correction:{ref}"


def estimator_key(ref: str) -> str:
    """Store key of the estimator snapshot the daemon resumes from."""
    return f"estimator:{ref}"


def correction_doc(consumed_pct: float, at: datetime) -> dict[str, Any]:
    """The stored form of a correction."""
    return {"consumed_pct": float(consumed_pct), "at": at.isoformat()}


def parse_correction(doc: dict[str, Any]) -> tuple[float, datetime]:
    """``(consumed_pct, at)`` from :func:`correction_doc`; ValueError when malformed."""
    try:
        pct = float(doc["consumed_pct"])
        at = datetime.fromisoformat(str(doc["at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed budget correction: {exc}") from None
    if not 0.0 <= pct <= 100.0 or at.tzinfo is None:
        raise ValueError("budget correction out of range or without a time zone")
    return pct, at
