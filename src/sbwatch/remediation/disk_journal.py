"""The disk changes' journal and the changes seen, as JSON documents of the store (light: read
by ``sbwatch status`` too, which loads no HTTP or metrics library)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.results import IntentState
from sbwatch.policy.disk import forecast, point_of
from sbwatch.store.base import StateStore, Store
from sbwatch.store.docs import Slot
from sbwatch.supabase.disk import CHANGE_WINDOW, GB

NAMESPACE = "disk"
KEEP_INTENTS = 50
KEEP_CHANGES = 2 * CHANGE_WINDOW
"""Changes seen are kept this long: the quota's window and a margin."""
READINGS = timedelta(hours=7)
"""The readings ``sbwatch status`` forecasts from: the fill rate's window and a margin."""


@dataclass(frozen=True, slots=True)
class DiskIntent:
    """A journalled disk change."""

    id: int
    project: str
    from_gb: int
    to_gb: int
    reason: str
    actor: str
    created_at: datetime
    state: IntentState
    updated_at: datetime
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """For the store."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        out["state"] = self.state.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiskIntent:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["created_at"] = datetime.fromisoformat(data["created_at"])
        fields["updated_at"] = datetime.fromisoformat(data["updated_at"])
        fields["state"] = IntentState(data["state"])
        return cls(**fields)


async def disk_intents(store: StateStore, ref: str) -> list[DiskIntent]:
    """The project's disk changes, oldest first.

    The journal (``("disk", "intents:REF")``: ``{"next_id": 3, "intents": [...]}``) has no
    typed slot, unlike the changes seen below: the changer writes it by changing the stored
    document in place (``DiskChanger._create`` and ``_update``), keeping the entries it does
    not touch exactly as stored and, on settling an intent, the keys beside ``next_id`` and
    ``intents`` it does not know (written by a later sbwatch, say). A typed document would
    read every entry into a :class:`DiskIntent` and write back only what it knows, losing
    them; so the journal stays a dict there, and only this reading makes values of it.
    """
    doc = await store.get_state(NAMESPACE, f"intents:{ref}") or {}
    return [DiskIntent.from_dict(item) for item in doc.get("intents", [])]


def changes_slot(ref: str) -> Slot[list[datetime]]:
    """Where the disk changes seen are kept, as ``{"seen": [ISO, ...]}``."""
    return Slot(
        NAMESPACE,
        f"changes:{ref}",
        lambda doc: [datetime.fromisoformat(item) for item in doc.get("seen", [])],
        lambda seen: {"seen": [c.isoformat() for c in seen]},
    )


async def changes_seen(store: StateStore, ref: str) -> list[datetime]:
    """When the project's disk changed, as sbwatch saw it (``last_modified_at``), oldest first."""
    return await changes_slot(ref).read(store) or []


async def note_change(store: StateStore, ref: str, at: datetime | None, now: datetime) -> bool:
    """Keep a ``last_modified_at`` the provider reported; whether it was new."""
    if at is None:
        return False
    seen = await changes_seen(store, ref)
    if at in seen:
        return False
    kept = sorted(c for c in [*seen, at] if now - c <= KEEP_CHANGES)
    await changes_slot(ref).write(store, kept)
    return True


def last_change(intents: list[DiskIntent]) -> datetime | None:
    """When sbwatch last changed the disk (applied), for the cooldown."""
    applied = [i.updated_at for i in intents if i.state is IntentState.APPLIED]
    return max(applied) if applied else None


def last_failed(intents: list[DiskIntent]) -> datetime | None:
    """When a disk change last failed (refused, or found not applied)."""
    failed = [i.updated_at for i in intents if i.state is IntentState.FAILED]
    return max(failed) if failed else None


def pending(intents: list[DiskIntent]) -> bool:
    """Whether a change's outcome is still unknown."""
    return any(i.state is IntentState.OPEN for i in intents)


async def disk_report(
    store: Store, project: ProjectSettings, now: datetime
) -> dict[str, Any] | None:
    """The disk as ``sbwatch status`` shows it, from what the store keeps (None: no reading)."""
    ref = project.ref
    points = [p for s in await store.io_samples(ref, now - READINGS) if (p := point_of(s))]
    fc = forecast(points, await changes_seen(store, ref), now, spend_cap=project.disk.spend_cap)
    if fc is None:
        return None
    frees = fc.quota.frees_at or fc.frees_at
    return {
        "used_ratio": fc.used_ratio,
        "size_gb": fc.size_gb,
        "used_gb": fc.used_bytes / GB,
        "fill_gb_per_hour": None if fc.rate_bytes_s is None else fc.rate_bytes_s * 3600 / GB,
        "read_only_eta_s": fc.read_only_eta_s,
        "autoscale_eta_s": fc.autoscale_eta_s,
        "changes_24h": fc.quota.used,
        "quota_spent": fc.quota.spent,
        "blocked_by": fc.blocked_by,
        "frees_at": None if frees is None else frees.isoformat(),
        "at": fc.at.isoformat(),
    }
