"""The executor: journal first, exactly one PATCH per intent, reconcile after faults and crashes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from structlog.testing import capture_logs

from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import ApiError, LockBusy, PermanentError, RateLimited, TransientError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Intent, IntentState
from sbwatch.core.tiers import Tier, spec, tier_for_variant
from sbwatch.remediation.executor import NOT_APPLIED, Escalator, lock_name, process_owner
from sbwatch.store.sqlite import SqliteStore
from sbwatch.supabase.mgmt_api import Addons, ProjectInfo

REF = "abcdefghijklmnopqrst"

PatchMode = Literal[
    "ok",
    "http500",
    "http400",
    "timeout",
    "timeout_applied",
    "rate_limited",
    "hang_before",
    "hang_after",
]


@dataclass
class FakeComputeApi:
    """The provider as the executor sees it: a compute size, PATCH faults and call counts."""

    clock: VirtualClock
    store: SqliteStore | None = None
    tier: Tier = Tier.MICRO
    status: str = "ACTIVE_HEALTHY"
    mode: PatchMode = "ok"
    patch_calls: int = 0
    get_calls: int = 0
    refuse_until: datetime | None = None
    lands: tuple[datetime, Tier] | None = None
    """A size that shows in the add-ons from a given time on."""
    get_error: ApiError | None = None
    open_at_patch: list[bool] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    in_patch: asyncio.Event = field(default_factory=asyncio.Event)

    def _check_rate_limit(self) -> None:
        if self.refuse_until is not None and self.clock.now() < self.refuse_until:
            raise RateLimited((self.refuse_until - self.clock.now()).total_seconds())

    async def get_project(self, ref: str) -> ProjectInfo:
        """The project's status."""
        self._check_rate_limit()
        return ProjectInfo(ref, "test", self.status, "eu-west-1")

    async def get_addons(self, ref: str) -> Addons:
        """The current compute size."""
        self._check_rate_limit()
        self.get_calls += 1
        if self.lands is not None and self.clock.now() >= self.lands[0]:
            self.tier = self.lands[1]
        if self.get_error is not None:
            raise self.get_error
        variant = spec(self.tier).variant
        return Addons(variant, self.tier, {})

    async def set_compute(self, ref: str, variant: str) -> None:
        """A PATCH: counted, then answered (or not) according to ``mode``."""
        self._check_rate_limit()
        if self.mode == "hang_before":  # the process dies before the request leaves
            self.in_patch.set()
            await self.gate.wait()
        if self.store is not None:
            states = [i.state for i in await self.store.intents(ref)]
            self.open_at_patch.append(bool(states) and states[-1] is IntentState.OPEN)
        self.patch_calls += 1
        target = tier_for_variant(variant)
        assert target is not None
        if self.mode in ("ok", "timeout_applied", "hang_after"):
            self.tier = target
        if self.mode == "hang_after":  # applied, but the answer never comes back
            self.in_patch.set()
            await self.gate.wait()
        if self.mode == "http500":
            raise ApiError("PATCH billing/addons: 500", status=500, transient=True)
        if self.mode == "http400":
            raise ApiError("PATCH billing/addons: 400 invalid variant", status=400, transient=False)
        if self.mode in ("timeout", "timeout_applied"):
            raise ApiError("PATCH billing/addons: timed out", transient=True)
        if self.mode == "rate_limited":
            self.refuse_until = self.clock.now() + timedelta(seconds=20)
            raise RateLimited(20)


DEADLINE_S = 5.0


@pytest.fixture
def api(clock: VirtualClock, store: SqliteStore) -> FakeComputeApi:
    """A micro project whose PATCH succeeds."""
    return FakeComputeApi(clock, store)


def escalator(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, owner: str = "daemon"
) -> Escalator:
    """An executor on the virtual clock of the fake API."""
    return Escalator(store, api, clock=api.clock, metrics=metrics, owner=owner)


def counted(metrics: Metrics, outcome: str) -> float:
    """How many escalations ended with an outcome."""
    return (
        metrics.registry.get_sample_value("sbwatch_escalations_total", {"outcome": outcome}) or 0.0
    )


async def up(esc: Escalator) -> Intent:
    """Raise the test project from micro to small."""
    return await esc.escalate(REF, Tier.MICRO, Tier.SMALL, "io_budget_exhausted", "daemon")


async def test_success_sends_one_patch_after_the_intent_is_written(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """A successful change: the OPEN intent exists when the one PATCH leaves; then APPLIED."""
    intent = await up(escalator(store, api, metrics))
    assert (IntentState.APPLIED, 1, [True], Tier.SMALL) == (
        intent.state,
        api.patch_calls,
        api.open_at_patch,
        api.tier,
    )
    assert (1.0, [intent]) == (counted(metrics, "applied"), await store.intents(REF))


async def test_permanent_error_fails_without_retry(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """A 400 marks the intent FAILED with the reason; no second PATCH."""
    api.mode = "http400"
    intent = await up(escalator(store, api, metrics))
    assert (IntentState.FAILED, 1, 1.0) == (
        intent.state,
        api.patch_calls,
        counted(metrics, "failed"),
    )
    assert "invalid variant" in intent.detail


async def test_500_is_reconciled_to_failed_without_retry(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """A 500 leaves the outcome unknown; the add-ons show no change, so FAILED, safe to retry."""
    api.mode = "http500"
    intent = await up(escalator(store, api, metrics))
    assert (IntentState.FAILED, NOT_APPLIED, 1, Tier.MICRO) == (
        intent.state,
        intent.detail,
        api.patch_calls,
        api.tier,
    )


@pytest.mark.parametrize(
    ("mode", "state", "tier"),
    [
        ("timeout_applied", IntentState.APPLIED, Tier.SMALL),
        ("timeout", IntentState.FAILED, Tier.MICRO),
    ],
)
async def test_timeout_is_reconciled_from_the_addons(
    store: SqliteStore,
    api: FakeComputeApi,
    metrics: Metrics,
    mode: PatchMode,
    state: IntentState,
    tier: Tier,
) -> None:
    """After a PATCH timeout the intent settles from GET add-ons, applied or not; one PATCH."""
    api.mode = mode
    intent = await up(escalator(store, api, metrics))
    assert (state, 1, tier) == (intent.state, api.patch_calls, api.tier)


async def test_timeout_while_resizing_stays_open_and_blocks(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """Unknown outcome during RESIZING: the intent stays OPEN, blocks new changes, settles later."""
    api.mode, api.status = "timeout", "RESIZING"
    esc = escalator(store, api, metrics)
    intent = await up(esc)
    assert (IntentState.OPEN, 1.0) == (intent.state, counted(metrics, "unknown"))
    with pytest.raises(TransientError, match="unresolved"):
        await up(esc)
    api.tier, api.status = Tier.SMALL, "ACTIVE_HEALTHY"  # the change landed after all
    settled = await esc.reconcile(REF)
    assert ([IntentState.APPLIED], 1) == ([i.state for i in settled], api.patch_calls)


async def test_a_resize_that_lasts_is_said_once_at_info(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """Reconciled each second through a resize, the wait is one info line, the rest debug."""
    api.mode, api.status = "timeout", "RESIZING"
    esc = escalator(store, api, metrics)
    with capture_logs() as logs:
        await up(esc)
        for _ in range(4):
            await esc.reconcile(REF)
    waits = [e["log_level"] for e in logs if e["event"] == "reconcile waits"]
    assert ["info", "debug", "debug", "debug", "debug"] == waits[-5:]
    assert 1 == waits.count("info")


async def test_rate_limited_patch_waits_for_the_reset_then_reconciles(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """A 429 is honoured: the reconciling GET happens after the reset; FAILED; one PATCH."""
    api.mode = "rate_limited"
    intent = await up(escalator(store, api, metrics))
    assert (IntentState.FAILED, NOT_APPLIED, 1) == (intent.state, intent.detail, api.patch_calls)
    assert api.refuse_until is not None
    assert api.clock.now() >= api.refuse_until


async def test_reconcile_waits_while_the_api_refuses(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """When the add-ons cannot be read the OPEN intent stays OPEN (never guessed)."""
    await store.create_intent(REF, Tier.MICRO, Tier.SMALL, "r", "daemon", api.clock.now())
    api.get_error = ApiError("GET billing/addons: 503", status=503, transient=True)
    found = await escalator(store, api, metrics).reconcile(REF)
    assert ([IntentState.OPEN], 0) == ([i.state for i in found], api.patch_calls)


async def crash_during_patch(store: SqliteStore, api: FakeComputeApi, metrics: Metrics) -> None:
    """Run an escalation until it is inside the PATCH, then abandon it as a killed process would."""
    task = asyncio.create_task(up(escalator(store, api, metrics, owner="daemon-old")))
    async with asyncio.timeout(DEADLINE_S):
        await api.in_patch.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A killed process releases nothing: put its lock back as it would have been left.
    assert await store.acquire_lock(lock_name(REF), "daemon-old", 900, api.clock.now())


async def test_crash_before_the_patch_reconciles_to_failed(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, clock: VirtualClock
) -> None:
    """Killed between intent and PATCH: a new executor marks it FAILED and sends nothing."""
    api.mode = "hang_before"
    await crash_during_patch(store, api, metrics)
    fresh = escalator(store, api, metrics, owner="daemon-new")
    assert [IntentState.OPEN] == [i.state for i in await fresh.reconcile(REF)]  # lock still held
    clock.advance(901)
    assert ([], 0) == (await fresh.reconcile(REF), api.patch_calls)
    assert ([IntentState.FAILED], NOT_APPLIED) == (
        [i.state for i in await store.intents(REF)],
        (await store.intents(REF))[0].detail,
    )


async def test_crash_after_the_patch_reconciles_to_applied(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, clock: VirtualClock
) -> None:
    """Killed after the PATCH landed: a new executor finds it applied; still exactly one PATCH."""
    api.mode = "hang_after"
    await crash_during_patch(store, api, metrics)
    clock.advance(901)
    fresh = escalator(store, api, metrics, owner="daemon-new")
    found = await fresh.reconcile(REF)
    assert ([IntentState.APPLIED], 1) == ([i.state for i in found], api.patch_calls)
    with pytest.raises(PermanentError, match="already small"):
        await up(fresh)
    assert 1 == api.patch_calls


async def test_lock_contention_on_one_sqlite_file_sends_one_patch(
    tmp_path: Path, clock: VirtualClock, metrics: Metrics
) -> None:
    """Two executors on one SQLite file (daemon and CLI): one PATCH; the other is refused."""
    first, second = SqliteStore(tmp_path / "s.db"), SqliteStore(tmp_path / "s.db")
    await first.open()
    await second.open()
    try:
        api = FakeComputeApi(clock, first, mode="hang_after")
        daemon = asyncio.create_task(up(escalator(first, api, metrics, owner="daemon")))
        async with asyncio.timeout(DEADLINE_S):
            await api.in_patch.wait()
        with pytest.raises(LockBusy):
            await escalator(second, api, metrics, owner="cli:ops").escalate(
                REF, Tier.MICRO, Tier.SMALL, "manual", "cli:ops"
            )
        api.gate.set()
        async with asyncio.timeout(DEADLINE_S):
            intent = await daemon
        assert (IntentState.APPLIED, 1, 1.0) == (
            intent.state,
            api.patch_calls,
            counted(metrics, "busy"),
        )
    finally:
        await first.close()
        await second.close()


async def test_concurrent_escalations_send_one_patch(
    tmp_path: Path, clock: VirtualClock, metrics: Metrics
) -> None:
    """Escalations started together from two stores on one file: one PATCH, any interleaving."""
    stores = [SqliteStore(tmp_path / "s.db") for _ in range(2)]
    for s in stores:
        await s.open()
    try:
        api = FakeComputeApi(clock, stores[0])
        results = await asyncio.gather(
            *(up(escalator(s, api, metrics, owner=f"o{n}")) for n, s in enumerate(stores)),
            return_exceptions=True,
        )
        errors = [type(r) for r in results if isinstance(r, BaseException)]
        assert (1, 1) == (api.patch_calls, len(errors))
        assert errors[0] in (LockBusy, PermanentError)
    finally:
        for s in stores:
            await s.close()


async def test_the_lock_is_released_after_an_escalation(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """Another owner can take the lock once an escalation returned."""
    await up(escalator(store, api, metrics))
    assert await store.acquire_lock(lock_name(REF), "someone-else", 60, api.clock.now())


def dead_pid() -> int:
    """The PID of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize(
    ("holder", "taken"),
    [
        ("dead", True),
        ("alive", False),
        ("other-host", False),
        ("daemon", False),
    ],
)
async def test_a_lock_left_by_a_dead_local_process_is_taken_at_once(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, holder: str, taken: bool
) -> None:
    """A killed `sbwatch escalate` on this host blocks nobody; anything else keeps its lock."""
    host = socket.gethostname()
    owner = {
        "dead": f"cli:ann@{host}:{dead_pid()}",
        "alive": process_owner("cli:ann"),  # this very process
        "other-host": f"cli:ann@not-{host}:{dead_pid()}",
        "daemon": f"daemon:{host}",
    }[holder]
    assert await store.acquire_lock(lock_name(REF), owner, 900, api.clock.now())
    esc = escalator(store, api, metrics, owner="daemon-new")
    if taken:
        assert IntentState.APPLIED is (await up(esc)).state
        assert 1 == api.patch_calls
    else:
        with pytest.raises(LockBusy):
            await up(esc)
        assert (0, owner) == (
            api.patch_calls,
            await store.lock_holder(lock_name(REF), api.clock.now()),
        )


@pytest.mark.parametrize(("holder", "freed"), [("dead", True), ("alive", False)])
async def test_the_first_reconcile_frees_a_lock_a_killed_process_left(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, holder: str, freed: bool
) -> None:
    """A daemon killed between its last write and its release leaves its lock behind; the
    next daemon's first reconcile frees it even when no OPEN intent needs it (nobody waits
    out the TTL), and never a living holder's."""
    owner = {
        "dead": f"daemon@{socket.gethostname()}:{dead_pid()}",
        "alive": process_owner("cli:ann"),
    }[holder]
    assert await store.acquire_lock(lock_name(REF), owner, 900, api.clock.now())
    assert [] == await escalator(store, api, metrics, owner="daemon-new").reconcile(REF)
    left = await store.lock_holder(lock_name(REF), api.clock.now())
    assert (None if freed else owner) == left


@pytest.mark.parametrize(("start", "to"), [(Tier.SMALL, Tier.MICRO), (Tier.SMALL, Tier.SMALL)])
async def test_no_downgrade_nor_same_size(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, start: Tier, to: Tier
) -> None:
    """Downgrades and no-op changes are refused before any intent is written."""
    with pytest.raises(PermanentError):
        await escalator(store, api, metrics).escalate(REF, start, to, "x", "daemon")
    assert ([], 0) == (await store.intents(REF), api.patch_calls)


async def test_already_at_target_is_refused_without_patch(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """When the add-ons already show the target size nothing is written nor sent."""
    api.tier = Tier.SMALL
    with pytest.raises(PermanentError, match="already small"):
        await up(escalator(store, api, metrics))
    assert ([], 0) == (await store.intents(REF), api.patch_calls)


async def test_reconcile_leaves_applied_intents_for_verification(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """An APPLIED intent is still owed a verification: reconcile keeps it and sends nothing."""
    intent = await up(escalator(store, api, metrics))
    assert ([intent], 1) == (await escalator(store, api, metrics).reconcile(REF), api.patch_calls)


async def test_verify_records_recovery(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, clock: VirtualClock
) -> None:
    """Recovered once the size shows and the services are healthy; time-to-recover recorded."""
    esc = escalator(store, api, metrics)
    intent = await up(esc)
    checks: list[datetime] = []

    async def healthy() -> bool:
        checks.append(clock.now())
        return len(checks) >= 4

    done = await esc.verify(intent, healthy, timeout_s=900, poll_s=10)
    assert (IntentState.RECOVERED, 30.0, 1.0) == (
        done.state,
        done.recovered_s,
        counted(metrics, "recovered"),
    )
    assert 30.0 == metrics.registry.get_sample_value("sbwatch_recovery_seconds_sum")


async def test_verify_gives_up_after_the_timeout(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """Unrecovered when the services stay down past the timeout."""
    esc = escalator(store, api, metrics)
    intent = await up(esc)

    async def never() -> bool:
        return False

    done = await esc.verify(intent, never, timeout_s=60, poll_s=10)
    assert (IntentState.UNRECOVERED, 1.0) == (done.state, counted(metrics, "unrecovered"))


async def test_verify_waits_for_the_new_size_to_show(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics, clock: VirtualClock
) -> None:
    """Healthy services on the old size are no recovery; rate limits while polling are honoured."""
    esc = escalator(store, api, metrics)
    intent = await up(esc)
    api.tier = Tier.MICRO  # the provider still shows the old size for a minute
    api.lands = (clock.now() + timedelta(seconds=60), Tier.SMALL)
    api.refuse_until = clock.now() + timedelta(seconds=25)

    async def healthy() -> bool:
        return True

    done = await esc.verify(intent, healthy, timeout_s=900, poll_s=10)
    assert (IntentState.RECOVERED, 65.0) == (done.state, done.recovered_s)  # 25 s + polls of 10 s


async def test_verify_ignores_intents_that_are_not_applied(
    store: SqliteStore, api: FakeComputeApi, metrics: Metrics
) -> None:
    """Only an APPLIED intent is verified; others come back unchanged."""
    api.mode = "http400"
    esc = escalator(store, api, metrics)
    intent = await up(esc)

    async def healthy() -> bool:
        return True

    assert intent == await esc.verify(intent, healthy, timeout_s=60)


async def test_a_change_a_person_made_is_counted_by_the_daemon_once(
    store: SqliteStore, api: FakeComputeApi, clock: VirtualClock
) -> None:
    """``sbwatch escalate`` (another process, its own metrics) raises the size: the daemon,
    which took note of the journal's history when it started, counts the person's change once
    when it reads the journal, and its recovery when it verifies it; the history is not
    counted again."""
    daemon_metrics, cli_metrics = Metrics(), Metrics()
    daemon = escalator(store, api, daemon_metrics)
    old = await store.create_intent(REF, Tier.MICRO, Tier.SMALL, "before", "daemon", clock.now())
    await store.update_intent(old.id, IntentState.FAILED, clock.now(), NOT_APPLIED, None)
    daemon.observe(await store.intents(REF), count=False)  # what it finds at start

    person = escalator(store, api, cli_metrics, owner="cli")
    intent = await person.escalate(REF, Tier.MICRO, Tier.SMALL, "asked", "cli:ann")
    daemon.observe(await store.intents(REF))
    daemon.observe(await store.intents(REF))  # read again: nothing new
    clock.advance(40)
    done = await daemon.check_recovery(intent, shows=True, healthy=True, timeout_s=900)
    assert (IntentState.RECOVERED, 1.0, 1.0, 0.0, 1.0) == (
        done.state,
        counted(daemon_metrics, "applied"),
        counted(daemon_metrics, "recovered"),
        counted(daemon_metrics, "failed"),
        daemon_metrics.registry.get_sample_value("sbwatch_recovery_seconds_count"),
    )
