"""Right-sizing beside the disk IO: the plan names the size that holds the recorded peak
connections and memory too, and says which limit decided it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sbwatch.alerting.words import need_name, need_reading
from sbwatch.core.connections import ConnReading
from sbwatch.core.results import IoSample
from sbwatch.core.tiers import Tier
from sbwatch.policy.plan import plan
from sbwatch.probes.metrics import DISK_SERIES, parse_sample
from sbwatch.store.sqlite import SqliteStore

from ..in_process import run_main
from .test_plan import REF, plan_config, week, weekly_notices

GB = 1024**3


def with_readings(
    samples: list[IoSample],
    *,
    direct: float | None = None,
    pooler: float | None = None,
    ram_gb: float | None = None,
    total_gb: float = 1.0,
    swap_gb: float = 0.0,
    held: timedelta = timedelta(minutes=30),
) -> list[IoSample]:
    """The samples with the scrape in the middle carrying the connections' peak and the
    scrapes from it for ``held`` the memory's; the others low."""
    middle = samples[len(samples) // 2].at
    out = []
    for sample in samples:
        peak = sample.at == middle
        conn = None
        if direct is not None or pooler is not None:
            conn = ConnReading(
                direct_used=None if direct is None else (direct if peak else 20.0),
                pooler_used=None if pooler is None else (pooler if peak else 10.0),
            )
        sample = replace(sample, connections=conn)
        if ram_gb is not None:
            high = middle <= sample.at <= middle + held
            used = ram_gb if high else 0.3
            sample = replace(
                sample,
                mem_total_bytes=total_gb * GB,
                mem_available_bytes=(total_gb - used) * GB,
                swap_used_bytes=(swap_gb if high else 0.0) * GB,
            )
        out.append(sample)
    return out


def test_peak_direct_connections_raise_the_pick_and_decide_it() -> None:
    """A week small carries in disk IO, with a peak of 85 direct connections: small's 90 would
    be nearly full, so medium (120) is named, decided by the connections."""
    made = plan(with_readings(week(28.0, 5.0), direct=85.0, ram_gb=0.5), Tier.MICRO)
    assert (Tier.MEDIUM, ("connections",)) == (made.pick, made.decided_by)
    by_limit = {need_name(n.limit): n for n in made.needs}
    assert Tier.SMALL == by_limit["disk IO"].smallest
    assert (
        "peak 85 direct connections: medium allows 120 (small's 90 would leave less than a "
        "fifth free)"
    ) == need_reading(by_limit["connections"].reading)


def test_memory_held_with_swap_decides_the_pick() -> None:
    """RAM and swap in use at 2.6 GB for half an hour: only medium's 4 GB holds it under
    75%."""
    samples = with_readings(week(9.0, 3.0), ram_gb=1.9, total_gb=2.0, swap_gb=0.7)
    made = plan(samples, Tier.SMALL)
    assert (Tier.MEDIUM, ("memory",), None) == (made.pick, made.decided_by, made.downgrade)
    memory = next(n for n in made.needs if n.limit == "memory")
    assert (
        "2.6 GB in use (RAM and swap) held for 15m: medium's 4 GB holds 3 GB under 75%"
        == need_reading(memory.reading)
    )


def test_a_memory_spike_shorter_than_the_sustain_does_not_count() -> None:
    """The same use for ten minutes only (the provider's "consistently" is not met): what
    stayed in use (0.3 GB) fits micro."""
    samples = with_readings(
        week(9.0, 3.0), ram_gb=1.9, total_gb=2.0, swap_gb=0.7, held=timedelta(minutes=10)
    )
    made = plan(samples, Tier.SMALL)
    memory = next(n for n in made.needs if n.limit == "memory")
    assert (Tier.MICRO, Tier.MICRO) == (memory.smallest, made.pick)
    assert need_reading(memory.reading).startswith("0.3 GB in use (RAM and swap) held for 15m")


def test_a_pooler_peak_above_a_sizes_limit_says_it_is_fewer() -> None:
    """300 pooler clients at the peak: micro's 200 is fewer, small's 400 keeps a fifth free."""
    made = plan(with_readings(week(9.0, 3.0), pooler=300.0), Tier.MICRO)
    connections = next(n for n in made.needs if n.limit == "connections")
    assert (Tier.SMALL, ("connections",)) == (made.pick, made.decided_by)
    assert "peak 300 pooler clients: small allows 400 (micro's 200 is fewer)" == (
        need_reading(connections.reading)
    )


def test_no_size_holds_a_pooler_peak_beyond_every_limit() -> None:
    """7,000 pooler clients at the peak: no size keeps a fifth free, so no size is named."""
    made = plan(with_readings(week(9.0, 3.0), pooler=7000.0), Tier.MICRO)
    assert made.pick is None
    connections = next(n for n in made.needs if n.limit == "connections")
    assert (
        "peak 7000 pooler clients: no size keeps a fifth of its limit free (8xl allows 6000)"
        == need_reading(connections.reading)
    )


def test_the_scrape_keeps_swap_in_use() -> None:
    """The metrics probe reads swap in use from SwapTotal less SwapFree."""
    disks = "".join(f'{name}{{device="nvme0n1"}} 1\n' for name in DISK_SERIES)
    text = f"node_memory_SwapTotal_bytes 1073741824\nnode_memory_SwapFree_bytes 268435456\n{disks}"
    sample, _, _ = parse_sample(text, datetime(2026, 5, 20, tzinfo=UTC))
    assert 805_306_368 == sample.swap_used_bytes


async def test_the_command_says_which_limit_decided_from_the_store(tmp_path: Path) -> None:
    """`sbwatch plan` reads the connections and memory the store kept with each scrape, names
    each limit's size and the one that decided the pick."""
    samples = with_readings(week(28.0, 5.0, step_s=600), direct=85.0, ram_gb=0.9)
    store = SqliteStore(tmp_path / "state.db")
    await store.open()
    shift = datetime.now(UTC).replace(microsecond=0) - samples[-1].at
    for sample in samples:
        await store.record_io_sample(REF, replace(sample, at=sample.at + shift))
    await store.close()
    config = plan_config(tmp_path)
    text = (
        await asyncio.to_thread(run_main, "--config", config, "plan", REF, "--days", "8")
    ).stdout
    assert "    disk IO      small   stays above 20% of its budget, never throttled" in text
    assert (
        "    connections  medium  peak 85 direct connections: medium allows 120 (small's 90 "
        "would leave less than a fifth free)"
    ) in text
    assert (
        "    memory       small   0.9 GB in use (RAM and swap) held for 15m: small's 2 GB holds "
        "1.5 GB under 75%"
    ) in text
    assert (
        "  the cheapest size that holds disk IO, connections and memory: medium "
        "(decided by connections)"
    ) in text
    done = await asyncio.to_thread(
        run_main, "--config", config, "plan", REF, "--days", "8", "--json"
    )
    (doc,) = json.loads(done.stdout)
    assert ("medium", ["connections"]) == (doc["pick"], doc["decided_by"])


async def test_the_weekly_notice_names_every_limit_weighed_and_the_one_that_decided(
    tmp_path: Path,
) -> None:
    """The weekly notice of a week small carries in disk IO but whose connections peak at 85:
    medium, for disk IO, connections and memory, decided by the connections."""
    samples = with_readings(week(28.0, 5.0, step_s=600), direct=85.0, ram_gb=0.5)
    ((title, body),) = await weekly_notices(tmp_path, samples)
    assert (
        "INFO abcdefghijklmnopqrst: plan: medium fits the last 14 days of disk IO, connections "
        "and memory (now micro)"
    ) == title
    assert "decided by connections" in body
