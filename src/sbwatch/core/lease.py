"""High availability values: the leader lease, an instance's record, and the writer's fence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

LEASE_NAME = "leader"
"""The one lease of a state store: its holder escalates and sends notifications."""


class Role(StrEnum):
    """What an instance does now."""

    LEADER = "leader"
    STANDBY = "standby"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Lease:
    """The lease row: who holds it, under which fencing epoch, until when (database time)."""

    holder: str
    epoch: int
    expires_at: datetime
    renewed_at: datetime


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """What one instance last said about itself, for ``sbwatch status``."""

    name: str
    role: Role
    epoch: int | None
    renewed_at: datetime


class Fence(Protocol):
    """The writer's permission to act: the epoch it leads under, and whether it still may."""

    @property
    def epoch(self) -> int | None:
        """The fencing epoch of the lease this instance holds; None when it holds none."""
        ...

    def acting(self) -> bool:
        """Whether this instance may escalate and send now (it leads, its lease is fresh)."""
        ...
