"""What the fleet hands a project's pipeline: whether it runs and acts for it, and its fence."""

from __future__ import annotations

from dataclasses import dataclass, field

from sbwatch.core.lease import LEASE_NAME, Fence, project_lease
from sbwatch.watch.fleet import Holding

REF = "aaaaaaaaaaaaaaaaaaaa"


@dataclass
class _Fence:
    """A lease this instance holds, or not, under an epoch."""

    lease: str
    epoch: int | None = None
    fresh: bool = False

    def acting(self) -> bool:
        return self.fresh


@dataclass
class _Fences:
    """Projects shared out: each project's own lease."""

    held: set[str] = field(default_factory=set)
    fences: dict[str, _Fence] = field(default_factory=dict)

    def lease_for(self, project: str | None) -> str:
        return LEASE_NAME if project is None else project_lease(project)

    def fence(self, lease: str) -> Fence:
        return self.fences.setdefault(lease, _Fence(lease))

    def runs(self, project: str) -> bool:
        return project in self.held


def test_one_instance_runs_and_acts_for_every_project_without_a_fence() -> None:
    """Without high availability a project is this instance's to run and to act for."""
    holding = Holding(REF, None)
    assert (True, True, None) == (holding.runs(), holding.acts(), holding.fence)


def test_a_holding_answers_from_the_lease_as_it_is_when_asked() -> None:
    """A lease lost or taken during a job changes what the same holding answers next."""
    fences = _Fences()
    holding = Holding(REF, fences)
    assert (False, False) == (holding.runs(), holding.acts())
    fences.held.add(REF)
    fence = fences.fences[project_lease(REF)]
    fence.epoch, fence.fresh = 3, True
    assert (True, True, fence) == (holding.runs(), holding.acts(), holding.fence)
    fence.fresh = False  # a renewal too old to act on: still run, no longer acted for
    assert (True, False) == (holding.runs(), holding.acts())
