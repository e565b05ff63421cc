"""High availability values: the leases, an instance's record, and the writer's fence."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

LEASE_NAME = "leader"
"""The lease of a state store: its holder escalates and sends notifications (with projects
shared out, for every project no other lease covers, and the provider-wide notices)."""
PROJECT_LEASE_PREFIX = "project:"
"""What the names of the project leases begin with (the store lists them by it)."""


@dataclass(frozen=True, slots=True)
class ProjectLease:
    """The lease whose holder leads one project when instances share projects: ``name`` is
    how the store keys it, :meth:`parse` the one place that reads a project back from it."""

    ref: str

    @property
    def name(self) -> str:
        """``project:REF``."""
        return f"{PROJECT_LEASE_PREFIX}{self.ref}"

    @classmethod
    def parse(cls, name: str) -> ProjectLease:
        """The project lease named ``name``; ValueError for any other lease."""
        ref = name.removeprefix(PROJECT_LEASE_PREFIX)
        if ref == name or not ref:
            raise ValueError(f"not a project lease: {name!r}")
        return cls(ref)


def project_lease(ref: str) -> str:
    """The name of the lease whose holder leads one project when instances share projects."""
    return ProjectLease(ref).name


def preferred_instance(ref: str, instances: Iterable[str]) -> str | None:
    """The instance that should lead ``ref`` among ``instances`` (rendezvous hashing).

    Every instance computes the same answer from the same list; when an instance leaves, only
    its projects move, spread over the others; one that joins takes about its share."""

    def weight(instance: str) -> bytes:
        return hashlib.blake2b(f"{ref}\0{instance}".encode(), digest_size=8).digest()

    return max(instances, key=weight, default=None)


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
    def lease(self) -> str:
        """The name of the lease this fence stands for."""
        ...

    @property
    def epoch(self) -> int | None:
        """The fencing epoch of the lease this instance holds; None when it holds none."""
        ...

    def acting(self) -> bool:
        """Whether this instance may escalate and send now (it leads, its lease is fresh)."""
        ...


class Fences(Protocol):
    """The fences of an instance's writes, one per lease it may hold."""

    def lease_for(self, project: str | None) -> str:
        """The lease whose holder acts for ``project`` (None: provider-wide)."""
        ...

    def fence(self, lease: str) -> Fence:
        """The fence of one lease."""
        ...

    def runs(self, project: str) -> bool:
        """Whether this instance probes and diagnoses ``project`` now."""
        ...
