"""Disk changes: the intent journalled before the one POST, a lost answer reconciled by a GET
and never sent again, a spent quota refused before anything is written; the simulator's
disk (autoscale, quota, read-only) and the command that grows the disk by hand."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from sbwatch.commands.escalate import disk_command
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import PermanentError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import NOT_APPLIED, IntentState
from sbwatch.core.tiers import Tier
from sbwatch.remediation.disk import DiskChanger
from sbwatch.remediation.disk_journal import changes_seen, disk_intents, note_change
from sbwatch.sim.space import GIB, DiskSpace
from sbwatch.sim.world import SimWorld, create_app
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.mgmt_api import ManagementApi

REF = "abcdefghijklmnopqrst"
TOKEN = "sbp_009b4be123069dc94a84aed7e11ad221ad1670ee"
START = datetime(2026, 5, 20, tzinfo=UTC)


class Wire(httpx.AsyncBaseTransport):
    """The simulator behind a transport that notes each POST's moment and can lose answers."""

    def __init__(self, world: SimWorld, store: SqliteStore) -> None:
        self._inner = httpx.ASGITransport(app=create_app(world, token=TOKEN))
        self._store = store
        self.lose_answers = False
        self.journal_at_post: list[list[IntentState]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward; for a POST, first read what the journal holds then."""
        if request.method == "POST":
            held = await disk_intents(self._store, REF)
            self.journal_at_post.append([i.state for i in held])
        response = await self._inner.handle_async_request(request)
        if self.lose_answers and request.method == "POST":
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at the replay's start."""
    return VirtualClock(START)


@pytest.fixture
def world(clock: VirtualClock) -> SimWorld:
    """One micro project with an 8 GB disk, 50% used."""
    sim = SimWorld(clock)
    sim.add_project(REF, Tier.MICRO, disk_gb=8, disk_used_pct=50)
    return sim


@pytest.fixture
async def wire(world: SimWorld, store: SqliteStore) -> AsyncIterator[tuple[ManagementApi, Wire]]:
    """The real client of the simulator through the noting transport."""
    transport = Wire(world, store)
    async with httpx.AsyncClient(transport=transport) as http:
        api = ManagementApi(http, "http://sim.test", SecretStr(TOKEN), clock=world.clock)
        yield api, transport


def changer(store: SqliteStore, api: ManagementApi, clock: VirtualClock) -> DiskChanger:
    """A changer acting for the daemon."""
    return DiskChanger(store, api, clock=clock, metrics=Metrics(), owner="daemon@test:1")


async def test_intent_is_journalled_before_the_one_post(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, world: SimWorld, clock: VirtualClock
) -> None:
    """The OPEN intent is in the store when the POST arrives; 201 makes it APPLIED and the
    provider's disk is the asked size."""
    api, transport = wire
    intent = await changer(store, api, clock).grow(REF, 40, "test", "daemon")
    assert [[IntentState.OPEN]] == transport.journal_at_post
    assert (IntentState.APPLIED, 8, 40) == (intent.state, intent.from_gb, intent.to_gb)
    assert (40, 1) == (world.project(REF).space.size_gb, world.disk_calls)


async def test_a_lost_answer_is_reconciled_never_resent(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, world: SimWorld, clock: VirtualClock
) -> None:
    """The POST lands but its answer is lost: the GET finds the disk grown, the intent is
    APPLIED, and one POST was sent."""
    api, transport = wire
    transport.lose_answers = True
    intent = await changer(store, api, clock).grow(REF, 40, "test", "daemon")
    assert (IntentState.APPLIED, "found applied") == (intent.state, intent.detail)
    assert (1, 1) == (world.disk_attempts, len(transport.journal_at_post))


async def test_settling_an_intent_keeps_what_the_journal_holds_beside_it(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, clock: VirtualClock
) -> None:
    """The journal is changed in place: settling one intent keeps the document's other keys
    (written by a later sbwatch, say) and the other entries as they were stored."""
    api, _ = wire
    opened = {
        "id": 2, "project": REF, "from_gb": 4, "to_gb": 8, "reason": "r", "actor": "a",
        "created_at": START.isoformat(), "state": "open", "updated_at": START.isoformat(),
        "detail": "",
    }  # fmt: skip
    other = {**opened, "id": 1, "state": "applied", "detail": "as stored"}
    journal = {"next_id": 3, "intents": [other, opened], "kept_by_a_later_version": [1]}
    await store.put_state("disk", f"intents:{REF}", journal)
    assert [] == await changer(store, api, clock).reconcile(REF)
    doc = await store.get_state("disk", f"intents:{REF}")
    assert doc is not None
    assert (3, [1], other) == (doc["next_id"], doc["kept_by_a_later_version"], doc["intents"][0])
    assert ("applied", "found applied") == (doc["intents"][1]["state"], doc["intents"][1]["detail"])


async def test_a_crash_before_the_post_is_settled_as_not_applied(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, world: SimWorld, clock: VirtualClock
) -> None:
    """An OPEN intent left by a crash before its POST: once it can no longer land, the
    reconcile marks it FAILED (not applied) from the GET, and sends nothing."""
    api, transport = wire
    left = changer(store, api, clock)
    await left._create(REF, 8, 40, "test", "daemon")  # the crash: journalled, never sent
    assert [] != await left.reconcile(REF)  # still in flight
    clock.advance(120)
    assert [] == await left.reconcile(REF)
    (intent,) = await disk_intents(store, REF)
    assert (IntentState.FAILED, NOT_APPLIED) == (intent.state, intent.detail)
    assert (0, []) == (world.disk_attempts, transport.journal_at_post)


async def test_a_spent_quota_is_refused_before_anything_is_written(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, world: SimWorld, clock: VirtualClock
) -> None:
    """Four disk changes seen in 24 h: no intent, no POST, and the refusal says when the next
    change is allowed."""
    api, _ = wire
    space = world.project(REF).space
    for gb in (9, 10, 11, 12):
        space.change(clock.monotonic(), gb, "autoscale")
        clock.advance(600)
        await note_change(store, REF, (await api.get_disk(REF)).last_modified_at, clock.now())
    assert 4 == len(await changes_seen(store, REF))
    with pytest.raises(PermanentError, match=r"spent; the next is allowed at 00:00 UTC"):
        await changer(store, api, clock).grow(REF, 40, "test", "daemon")
    assert ([], 0) == (await disk_intents(store, REF), world.disk_attempts)


def test_simulated_disk_autoscales_four_times_then_goes_read_only() -> None:
    """The world's /data: grown by half at 90% four times in a day, read-only at 95% while
    the quota is spent, grown again (and writable) the moment it frees."""
    space = DiskSpace(8, 6.4 * GIB, fill_bytes_s=2 * GIB / 3600)
    space.advance(0.0, 86_400.0)
    assert [12, 18, 27, 41] == [c["to"] for c in space.grown]
    assert space.read_only
    started = space.read_only_spans[0][0]
    assert 16.0 * 3600 < started < 16.5 * 3600
    first = space.changes[0]
    space.advance(86_400.0, first + 86_400.0 + 1.0)
    assert (62, False) == (space.size_gb, space.read_only)
    assert space.read_only_time(first + 86_400.0 + 1.0) == pytest.approx(first + 86_400.0 - started)


def test_spend_cap_holds_the_simulated_disk_at_8_gb() -> None:
    """With the spend cap, the disk grows to 8 GB and then goes read-only."""
    space = DiskSpace(6, 5 * GIB, fill_bytes_s=GIB / 3600, spend_cap=True)
    space.advance(0.0, 6 * 3600.0)
    assert (8, True) == (space.size_gb, space.read_only)


async def test_command_grows_the_disk_once_and_refuses_a_spent_quota(
    wire: tuple[ManagementApi, Wire], store: SqliteStore, world: SimWorld, clock: VirtualClock
) -> None:
    """`sbwatch escalate REF --disk-gb N`: a dry run changes nothing, a confirmed run grows the
    disk through the journal; with the quota spent it is refused, naming when it frees."""
    api, _ = wire
    project = ProjectSettings.model_validate({"ref": REF})
    out = io.StringIO()
    assert 0 == await disk_command(
        project, api, store, clock, size_gb=20, yes=True, dry_run=True, out=out
    )
    assert "disk: 8 GB -> 20 GB, +$1.50/month" in out.getvalue()
    assert 0 == await disk_command(
        project, api, store, clock, size_gb=20, yes=True, dry_run=False, out=out
    )
    assert (20, 1) == (world.project(REF).space.size_gb, world.disk_calls)
    space = world.project(REF).space
    for gb in (21, 22, 23):
        clock.advance(60)
        space.change(clock.monotonic(), gb, "autoscale")
        await disk_command(project, api, store, clock, size_gb=30, yes=True, dry_run=True, out=out)
    out = io.StringIO()
    assert 2 == await disk_command(
        project, api, store, clock, size_gb=30, yes=True, dry_run=False, out=out
    )
    assert "spent; the next is allowed at Thu 00:00 UTC" in out.getvalue()
    assert 1 == world.disk_calls


async def test_the_disk_answers_are_read_as_the_spec_shapes_them(
    wire: tuple[ManagementApi, Wire], world: SimWorld, clock: VirtualClock
) -> None:
    """GET config/disk and disk/util: size, attributes kept for the POST, last change, and the
    filesystem's bytes, as the simulator's spec-shaped answers give them."""
    api, _ = wire
    disk = await api.get_disk(REF)
    expected = {"type": "gp3", "size_gb": 12, "iops": 3000, "throughput_mibps": 125}
    assert expected == disk.attributes(12)
    util = await api.get_disk_util(REF)
    assert (8 * GIB, 4 * GIB, clock.now()) == (util.size_bytes, util.used_bytes, util.at)
