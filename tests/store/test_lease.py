"""The leader lease and its fencing epoch on both backends, PostgreSQL as the shared one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tests.store.conftest import Backend

from sbwatch.core.errors import Fenced
from sbwatch.core.lease import PROJECT_LEASE_PREFIX, Role, project_lease
from sbwatch.core.results import Severity
from sbwatch.core.tiers import Tier
from sbwatch.store import Store

T0 = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
SHORT_S = 0.3


async def test_one_holder_at_a_time_and_a_takeover_raises_the_epoch(backend: Backend) -> None:
    """Two stores on one database: the second waits out the first's lease, then leads one
    epoch higher."""
    first, second = await backend.open(), await backend.open()
    taken = await first.take_lease("a", SHORT_S)
    assert taken is not None
    assert None is await second.take_lease("b", SHORT_S)
    await asyncio.sleep(SHORT_S + 0.1)
    over = await second.take_lease("b", 30)
    assert over is not None
    assert ("b", taken.epoch + 1) == (over.holder, over.epoch)
    assert None is await first.take_lease("a", 30)
    assert over == await first.current_lease()


async def test_two_standbys_racing_for_an_expired_lease_get_one_epoch(backend: Backend) -> None:
    """Concurrent takes of an expired lease: exactly one wins."""
    stores = [await backend.open() for _ in range(4)]
    await stores[0].take_lease("old", 0.01)
    await asyncio.sleep(0.05)
    won = await asyncio.gather(*(s.take_lease(f"i{n}", 30) for n, s in enumerate(stores)))
    winners = [lease for lease in won if lease is not None]
    assert [2] == [lease.epoch for lease in winners]


async def test_renewal_is_refused_to_a_non_holder_and_to_an_old_epoch(store: Store) -> None:
    """Only the holder under its own epoch renews; a holder retaking gets a new epoch."""
    lease = await store.take_lease("a", 30)
    assert lease is not None
    assert None is await store.renew_lease("b", lease.epoch, 30)
    assert None is await store.renew_lease("a", lease.epoch + 1, 30)
    renewed = await store.renew_lease("a", lease.epoch, 30)
    assert renewed is not None
    assert (lease.epoch, True) == (renewed.epoch, renewed.renewed_at >= lease.renewed_at)
    again = await store.take_lease("a", 30)  # the same name restarted: a new epoch
    assert again is not None
    assert again.epoch == lease.epoch + 1
    assert None is await store.renew_lease("a", lease.epoch, 30)


async def test_a_released_lease_is_taken_at_once(store: Store) -> None:
    """A clean stop lets the standby lead without waiting out the lease."""
    lease = await store.take_lease("a", 30)
    assert lease is not None
    assert not await store.release_lease("a", lease.epoch + 1)
    assert await store.release_lease("a", lease.epoch)
    taken = await store.take_lease("b", 30)
    assert taken is not None
    assert taken.epoch == lease.epoch + 1


async def test_a_stale_epoch_cannot_claim_a_notification(store: Store) -> None:
    """After a takeover, the old leader's claim of an outbox row is refused; the new one's
    succeeds, once the row is sent no claim does."""
    old = await store.take_lease("a", 0.01)
    assert old is not None
    queued = await store.enqueue_notification("p:x", "phone", Severity.CRITICAL, "t", "b", T0)
    await asyncio.sleep(0.05)
    new = await store.take_lease("b", 30)
    assert new is not None
    assert not await store.claim_notification(queued.id, old.epoch)
    assert await store.claim_notification(queued.id, new.epoch)
    await store.mark_sent(queued.id, T0)
    assert not await store.claim_notification(queued.id, new.epoch)


async def test_a_stale_epoch_cannot_write_an_intent(store: Store) -> None:
    """An intent written under an old epoch is refused by the store, nothing is journalled."""
    old = await store.take_lease("a", 0.01)
    assert old is not None
    written = await store.create_intent("p", Tier.MICRO, Tier.SMALL, "r", "a", T0, epoch=old.epoch)
    await asyncio.sleep(0.05)
    new = await store.take_lease("b", 30)
    assert new is not None
    with pytest.raises(Fenced):
        await store.create_intent("p", Tier.MICRO, Tier.SMALL, "r", "a", T0, epoch=old.epoch)
    assert [written.id] == [i.id for i in await store.intents("p")]
    await store.create_intent("p", Tier.MICRO, Tier.SMALL, "r", "b", T0, epoch=new.epoch)
    assert 2 == len(await store.intents("p"))


async def test_instances_keep_their_last_role(store: Store) -> None:
    """Each instance's row is replaced by its latest report."""
    await store.record_instance("b", Role.STANDBY, None)
    await store.record_instance("a", Role.STANDBY, None)
    await store.record_instance("a", Role.LEADER, 3)
    found = [(i.name, i.role, i.epoch) for i in await store.instances()]
    assert [("a", Role.LEADER, 3), ("b", Role.STANDBY, None)] == found


async def test_project_leases_renew_together_and_only_the_holders(store: Store) -> None:
    """One statement renews every project lease an instance holds, none of another's, not the
    leader lease; the unexpired ones are listed by name."""
    for ref, holder in (("p1", "a"), ("p2", "a"), ("p3", "b")):
        assert await store.take_lease(holder, 30, project_lease(ref)) is not None
    leader = await store.take_lease("a", 30)
    assert leader is not None
    renewed = await store.renew_leases("a", PROJECT_LEASE_PREFIX, 30)
    assert {project_lease("p1"): 1, project_lease("p2"): 1} == renewed
    listed = await store.leases(PROJECT_LEASE_PREFIX)
    assert {"project:p1": "a", "project:p2": "a", "project:p3": "b"} == {
        name: lease.holder for name, lease in listed.items()
    }
    assert leader == await store.current_lease()


async def test_an_expired_project_lease_is_not_listed_nor_renewed(store: Store) -> None:
    """A project lease left to run out drops from the list; its holder cannot renew it once
    another took it."""
    await store.take_lease("a", 0.01, project_lease("p1"))
    await asyncio.sleep(0.05)
    assert {} == await store.leases(PROJECT_LEASE_PREFIX)
    taken = await store.take_lease("b", 30, project_lease("p1"))
    assert taken is not None
    assert (2, {}) == (taken.epoch, await store.renew_leases("a", PROJECT_LEASE_PREFIX, 30))


async def test_a_project_lease_fences_its_own_outbox_and_journal(store: Store) -> None:
    """A message or an intent under a project's lease is judged by that lease's epoch alone."""
    lease = project_lease("p1")
    old = await store.take_lease("a", 0.01, lease)
    assert old is not None
    queued = await store.enqueue_notification(
        "p1:x", "phone", Severity.CRITICAL, "t", "b", T0, lease=lease
    )
    assert lease == (await store.due_notifications(T0))[0].lease
    await asyncio.sleep(0.05)
    new = await store.take_lease("b", 30, lease)
    assert new is not None
    assert not await store.claim_notification(queued.id, old.epoch, lease)
    assert not await store.claim_notification(queued.id, new.epoch)  # the leader lease: none
    assert await store.claim_notification(queued.id, new.epoch, lease)
    with pytest.raises(Fenced, match="project:p1"):
        await store.create_intent(
            "p1", Tier.MICRO, Tier.SMALL, "r", "a", T0, epoch=old.epoch, lease=lease
        )
    await store.create_intent("p1", Tier.MICRO, Tier.SMALL, "r", "b", T0, epoch=2, lease=lease)
    assert ["b"] == [i.actor for i in await store.intents("p1")]


async def test_live_instances_leave_out_the_stopped_and_the_silent(store: Store) -> None:
    """An instance is live while it renewed within the window and did not stop."""
    await store.record_instance("a", Role.STANDBY, None)
    await store.record_instance("b", Role.LEADER, 1)
    await store.record_instance("c", Role.STOPPED, None)
    assert ["a", "b"] == await store.live_instances(30)
    await asyncio.sleep(1.0)
    await store.record_instance("b", Role.LEADER, 1)
    assert ["b"] == await store.live_instances(0.5)


async def test_a_clean_stop_releases_all_its_project_leases_at_once(store: Store) -> None:
    """One statement frees the stopping instance's project leases, not another's."""
    for ref, holder in (("p1", "a"), ("p2", "a"), ("p3", "b")):
        assert await store.take_lease(holder, 30, project_lease(ref)) is not None
    assert 2 == await store.release_leases("a", PROJECT_LEASE_PREFIX)
    assert {"project:p3"} == set(await store.leases(PROJECT_LEASE_PREFIX))
    taken = await store.take_lease("b", 30, project_lease("p1"))
    assert taken is not None
    assert 2 == taken.epoch


async def test_many_leases_are_taken_in_one_statement_where_free(store: Store) -> None:
    """Free, expired and own leases are taken, each a new epoch; another's live one is not."""
    await store.take_lease("b", 30, project_lease("held"))
    await store.take_lease("b", 0.01, project_lease("expired"))
    await store.take_lease("a", 30, project_lease("mine"))
    await asyncio.sleep(0.05)
    names = [project_lease(ref) for ref in ("free", "held", "expired", "mine")]
    taken = await store.take_leases("a", names, 30)
    assert {"project:free": 1, "project:expired": 2, "project:mine": 2} == taken
    assert {} == await store.take_leases("a", [], 30)
