"""Instances sharing out projects: each project has one holder, a dead instance's projects move
to the others, a new instance takes its part, and nobody acts for a project another holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from sbwatch.config.ha import HaSettings
from sbwatch.core.clock import SystemClock
from sbwatch.core.lease import (
    LEASE_NAME,
    PROJECT_LEASE_PREFIX,
    ProjectLease,
    preferred_instance,
    project_lease,
)
from sbwatch.core.metrics import Metrics
from sbwatch.daemon.ha import Leadership
from sbwatch.store.base import Store

REFS = [f"proj{n:02d}aaaaaaaaaaaaaa" for n in range(12)]
LEASE = timedelta(seconds=0.6)
RENEW = timedelta(seconds=0.15)


class Instance:
    """One Leadership and what it was told about moves."""

    def __init__(self, store: Store, name: str) -> None:
        settings = HaSettings(
            enabled=True, instance=name, lease=LEASE, renew_every=RENEW, share_projects=True
        )
        self.metrics = Metrics()
        self.leadership = Leadership(
            store, settings, clock=SystemClock(), metrics=self.metrics, projects=REFS
        )
        self.gained: list[str] = []
        self.lost: list[str] = []
        self.leadership.on_moved = self._moved

    async def _moved(self, gained: list[str], lost: list[str]) -> None:
        self.gained += gained
        self.lost += lost

    def acting(self) -> set[str]:
        return {ref for ref in REFS if self.leadership.fence(project_lease(ref)).acting()}

    def projects_gauge(self) -> float | None:
        return self.metrics.registry.get_sample_value("sbwatch_ha_projects")


async def rounds(instances: list[Instance], count: int) -> None:
    """``count`` renewal rounds of every instance, a renewal interval apart; at every step no
    project has two instances acting for it."""
    for _ in range(count):
        for instance in instances:
            await instance.leadership.tick()
            acting = [i.acting() for i in instances]
            assert all(not (a & b) for n, a in enumerate(acting) for b in acting[n + 1 :])
        await asyncio.sleep(RENEW.total_seconds())


async def test_two_instances_split_the_projects_as_rendezvous_hashing_says(store: Store) -> None:
    """Each project ends with exactly the instance the hash prefers; both lead some."""
    a, b = Instance(store, "a"), Instance(store, "b")
    await rounds([a, b], 4)
    expected = {ref: preferred_instance(ref, ["a", "b"]) for ref in REFS}
    held = {ref: lease.holder for ref, lease in (await store.leases(PROJECT_LEASE_PREFIX)).items()}
    assert {project_lease(ref): who for ref, who in expected.items()} == held
    assert (a.acting() | b.acting(), set()) == (set(REFS), a.acting() & b.acting())
    assert 0 < len(a.acting()) < len(REFS)
    assert (float(len(a.acting())), float(len(b.acting()))) == (
        a.projects_gauge(),
        b.projects_gauge(),
    )


async def test_a_dead_instances_projects_move_to_the_survivor(store: Store) -> None:
    """``b`` stops renewing (killed): once its leases run out, ``a`` takes each of them under a
    higher epoch and is told which moved."""
    a, b = Instance(store, "a"), Instance(store, "b")
    await rounds([a, b], 4)
    bs = b.acting()
    before = {ref: (await store.current_lease(project_lease(ref))) for ref in bs}
    a.gained.clear()
    await rounds([a], 8)  # b is silent for 8 renewals: longer than a lease
    assert (set(REFS), bs) == (a.acting(), set(a.gained))
    for ref in bs:
        after = await store.current_lease(project_lease(ref))
        old = before[ref]
        assert after is not None
        assert old is not None
        assert ("a", old.epoch + 1) == (after.holder, after.epoch)


async def test_a_new_instance_takes_its_part_from_the_one_that_held_all(store: Store) -> None:
    """``a`` alone holds everything; ``b`` joins: ``a`` lets go of exactly ``b``'s part first,
    ``b`` takes it; no project had two instances acting at any step."""
    a = Instance(store, "a")
    await rounds([a], 2)
    assert set(REFS) == a.acting()
    b = Instance(store, "b")
    await rounds([a, b], 4)
    part = {ref for ref in REFS if preferred_instance(ref, ["a", "b"]) == "b"}
    assert (part, part, part) == (set(a.lost), b.acting(), set(b.gained))


async def test_a_clean_stop_frees_its_projects_at_once(store: Store) -> None:
    """release() lets every project lease go: the survivor takes them at its next round."""
    a, b = Instance(store, "a"), Instance(store, "b")
    await rounds([a, b], 4)
    await b.leadership.release()
    assert set() == b.acting()
    await rounds([a], 1)
    assert set(REFS) == a.acting()


async def test_the_leader_lease_still_covers_what_no_project_lease_does(store: Store) -> None:
    """Provider-wide notices go under the leader lease; a configured project under its own."""
    a = Instance(store, "a")
    await rounds([a], 1)
    leadership = a.leadership
    assert (LEASE_NAME, project_lease(REFS[0])) == (
        leadership.lease_for(None),
        leadership.lease_for(REFS[0]),
    )
    assert LEASE_NAME == leadership.lease_for("supabase")
    assert leadership.fence(LEASE_NAME) is leadership
    assert (True, True) == (leadership.acting(), leadership.runs(REFS[0]))


def test_rendezvous_moves_only_the_leaving_instances_projects() -> None:
    """Removing one of three instances reassigns its projects and no other."""
    refs = [f"r{n}" for n in range(300)]
    three = {ref: preferred_instance(ref, ["a", "b", "c"]) for ref in refs}
    two = {ref: preferred_instance(ref, ["a", "b"]) for ref in refs}
    moved = {ref for ref in refs if three[ref] != two[ref]}
    assert moved == {ref for ref in refs if three[ref] == "c"}
    shares = [list(three.values()).count(name) for name in "abc"]
    assert min(shares) > 70  # about a third each
    assert preferred_instance("r1", []) is None


async def test_leases_taken_as_a_tick_timed_out_are_not_kept_out_of_reach(store: Store) -> None:
    """``b``'s first take commits every lease, but its tick times out before it learns so:
    the store holds them for ``b`` and its renewals would keep them. ``b`` adopts its own part
    and lets go of ``a``'s, so ``a`` leads its part at its next round."""
    a, b = Instance(store, "a"), Instance(store, "b")
    taken = await store.take_leases("b", sorted(project_lease(ref) for ref in REFS), 0.6)
    assert len(REFS) == len(taken)  # b holds all in the store, and knows none
    await rounds([a, b], 3)  # a is live before b's first round: a's part is not b's
    expected = {ref: preferred_instance(ref, ["a", "b"]) for ref in REFS}
    assert (
        {ref for ref, who in expected.items() if who == "a"},
        {ref for ref, who in expected.items() if who == "b"},
    ) == (a.acting(), b.acting())


def test_a_project_lease_name_reads_back_to_its_project() -> None:
    """``project:REF`` and back; the leader lease or another name is no project's lease."""
    lease = ProjectLease(REFS[0])
    assert (f"project:{REFS[0]}", lease) == (lease.name, ProjectLease.parse(lease.name))
    assert project_lease(REFS[0]) == lease.name
    for name in (LEASE_NAME, "project:", "other"):
        with pytest.raises(ValueError, match="not a project lease"):
            ProjectLease.parse(name)
