"""Memory, swap and CPU policy: the provider's thresholds held, a leak forecast, OOMs (pure)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sbwatch.core.results import HostSample
from sbwatch.core.tiers import Tier
from sbwatch.policy import cpu, memory
from sbwatch.policy.memory import GIB, MemoryPoint, holding_size, oom_between
from sbwatch.probes.metrics import host_of, read_exposition
from sbwatch.watch.readings import keep_reading

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
SUSTAIN = timedelta(minutes=15)
REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def ram(used: list[float], *, total_gb: float = 1.0, every_s: float = 60.0) -> list[MemoryPoint]:
    """Readings ``every_s`` apart up to NOW with these RAM-used ratios, no swap in use."""
    total = total_gb * GIB
    start = NOW - timedelta(seconds=every_s * (len(used) - 1))
    return [
        MemoryPoint(start + timedelta(seconds=every_s * i), total, total * (1 - u), GIB, GIB)
        for i, u in enumerate(used)
    ]


def test_ram_high_for_the_whole_window_is_held_and_one_scrape_is_not() -> None:
    """RAM above 75% for 15 minutes is "consistently"; one high scrape, or 14 minutes, is not."""
    held = memory.assess(ram([0.5] + [0.8] * 16), NOW, SUSTAIN)
    assert held is not None
    assert (True, 900.0, True) == (held.held, held.high_for_s, held.short)
    spike = memory.assess(ram([0.5] * 16 + [0.9]), NOW, SUSTAIN)
    assert spike is not None
    assert (False, False) == (spike.held, spike.short)
    short = memory.assess(ram([0.5] * 3 + [0.8] * 15), NOW, SUSTAIN)
    assert short is not None
    assert (False, 840.0) == (short.held, short.high_for_s)
    dip = memory.assess(ram([0.8] * 10 + [0.7] + [0.8] * 6), NOW, SUSTAIN)
    assert dip is not None
    assert not dip.held


def test_swap_above_seventy_percent_is_short_at_once() -> None:
    """Swap 72% used is the provider's other threshold: no window needed."""
    point = MemoryPoint(NOW, GIB, 0.5 * GIB, GIB, 0.28 * GIB)
    state = memory.assess([point], NOW, SUSTAIN)
    assert state is not None
    assert (True, False, 0.72) == (state.swap_high, state.held, round(state.swap_ratio or 0, 2))


def test_swap_traffic_is_read_in_megabytes_a_second() -> None:
    """pswpin/pswpout count 4 KiB pages: 500 pages a second each way is 4.1 MB/s, significant."""
    a = MemoryPoint(NOW - timedelta(minutes=1), GIB, 0.1 * GIB, GIB, 0.5 * GIB, 1000, 1000)
    b = MemoryPoint(NOW, GIB, 0.1 * GIB, GIB, 0.5 * GIB, 31_000, 31_000)
    state = memory.assess([a, b], NOW, SUSTAIN)
    assert state is not None
    assert (4.1, True) == (round(state.swap_io_mbps or 0, 1), state.swapping)


def test_a_leak_is_forecast_to_swap_and_to_the_oom() -> None:
    """Available memory falling 10 MiB a minute on a 1 GiB machine with 1 GiB of swap: the
    forecast says when RAM runs out (the machine swaps) and when swap does too (an OOM)."""
    mib = 1024**2
    points = [
        MemoryPoint(NOW - timedelta(minutes=60 - m), GIB, (700 - 10 * m) * mib, GIB, GIB)
        for m in range(61)
    ]
    state = memory.assess(points, NOW, SUSTAIN)
    assert state is not None
    left = 100 * mib  # available now
    assert round((left - 0.05 * GIB) / (10 * mib) * 60) == round(state.swap_eta_s or 0)
    assert round((left + GIB) / (10 * mib) * 60) == round(state.oom_eta_s or 0)


def test_no_leak_from_a_flat_or_noisy_memory() -> None:
    """Memory that goes up and down is no steady fall: no forecast."""
    state = memory.assess(ram([0.5, 0.6, 0.4, 0.55, 0.45, 0.6, 0.4] * 6), NOW, SUSTAIN)
    assert state is not None
    assert (None, None) == (state.swap_eta_s, state.oom_eta_s)


def test_an_oom_is_the_kill_counter_rising_or_a_reset_after_memory_was_full() -> None:
    """oom_kill rising says an OOM; counters reset after a full memory are the OOM's reboot;
    a reset with memory low is a restart (a resize), not an OOM."""
    base = MemoryPoint(NOW - timedelta(minutes=1), GIB, 0.02 * GIB, GIB, 0.1 * GIB, 50, 900, 10, 0)
    killed = MemoryPoint(NOW, GIB, 0.3 * GIB, GIB, 0.4 * GIB, 60, 950, 12, 1)
    rebooted = MemoryPoint(NOW, GIB, 0.5 * GIB, GIB, GIB, 0, 0, 0, 0)
    calm = MemoryPoint(NOW - timedelta(minutes=1), GIB, 0.6 * GIB, GIB, GIB, 50, 900, 10, 0)
    assert (True, True, False) == (
        oom_between(base, killed),
        oom_between(base, rebooted),
        oom_between(calm, rebooted),
    )
    state = memory.assess([base, rebooted], NOW, SUSTAIN)
    assert state is not None
    assert (NOW, 0.5) == (state.oom_at, state.used_ratio)
    assert 0.5 * GIB == state.need_bytes  # the use before the reboot is not this machine's


def test_the_size_that_holds_the_use_is_named() -> None:
    """The smallest bigger size whose RAM holds the use under 75%: 1.6 GiB is over 75% of
    small's 2 GB, so medium; 1.4 GiB fits small."""
    assert Tier.MEDIUM == holding_size(1.6 * GIB, Tier.MICRO)
    assert Tier.SMALL == holding_size(1.4 * GIB, Tier.MICRO)
    assert Tier.SMALL == holding_size(0.2 * GIB, Tier.MICRO)  # at least one size up
    assert None is holding_size(GIB, Tier.XL8)


def cpu_points(busy: list[float], *, cpus: int = 2) -> list[cpu.CpuPoint]:
    """Readings a minute apart up to NOW, each interval busy at the given share."""
    start = NOW - timedelta(minutes=len(busy))
    points = [cpu.CpuPoint(start, 0.0, 0.0, cpus)]
    total = done = 0.0
    for i, share in enumerate(busy, 1):
        total += 60 * cpus
        done += 60 * cpus * share
        points.append(cpu.CpuPoint(start + timedelta(minutes=i), total, done, cpus))
    return points


def test_cpu_busy_above_ninety_percent_for_the_configured_time_is_held() -> None:
    """15 minutes busy at 95% is saturated; a busy minute after a quiet one is not."""
    held = cpu.assess(cpu_points([0.2] + [0.95] * 15), SUSTAIN)
    assert held is not None
    assert (True, 900.0, 0.95) == (held.held, held.busy_for_s, round(held.busy_ratio, 2))
    burst = cpu.assess(cpu_points([0.2] * 15 + [1.0]), SUSTAIN)
    assert burst is not None
    assert not burst.held
    assert None is cpu.assess(cpu_points([])[:1], SUSTAIN)


def test_cpu_reading_leaves_iowait_to_the_io_budget() -> None:
    """A scrape's busy time counts every mode but idle and iowait."""
    text = "\n".join(
        f'node_cpu_seconds_total{{cpu="{c}",mode="{mode}"}} {value}'
        for c in ("0", "1")
        for mode, value in (("user", 30), ("system", 10), ("iowait", 50), ("idle", 10))
    )
    host = host_of(read_exposition(text + "\n"), NOW)
    assert (200.0, 80.0, 2) == (host.cpu_seconds_total, host.cpu_busy_seconds_total, host.cpus)


def test_the_providers_exposition_names_every_memory_series() -> None:
    """The provider's published endpoint has the memory, swap and vmstat series sbwatch reads
    (values zeroed there): each is read, none is left None."""
    host = host_of(read_exposition((REAL / "prom_supabase_grafana_metrics_md_2025-06.prom")
                                   .read_text()), NOW)  # fmt: skip
    read = (
        host.mem_total_bytes, host.mem_available_bytes, host.swap_total_bytes,
        host.swap_free_bytes, host.swap_in_pages_total, host.swap_out_pages_total,
        host.major_faults_total, host.oom_kills_total, host.cpu_seconds_total,
    )  # fmt: skip
    assert (0.0,) * 9 == read
    assert 2 == host.cpus
    assert None is memory.point_of(host)  # a zero MemTotal is no reading
    assert None is memory.point_of(HostSample(NOW))


def test_a_window_assessed_as_it_slides_reads_as_assessed_whole() -> None:
    """The restarts found once per pair as readings come and go (watch/host.py) give what
    checking every pair of the window again gives: OOMs, restarts, the most held."""
    rng = random.Random(3)
    keep = timedelta(minutes=40)
    window: list[MemoryPoint] = []
    restarts = memory.Restarts()
    counters = [0.0, 0.0, 0.0, 0.0]
    seen = {"reset": 0, "oom": 0, "changed": 0}
    last = None
    for minute in range(400):
        used = rng.choice([0.3, 0.6, 0.8, 0.97, 0.99])
        if rng.random() < 0.05:
            counters = [0.0, 0.0, 0.0, 0.0]  # a reboot
        elif rng.random() < 0.03:
            counters[3] += 1  # the kill counter rises
        counters = [c + rng.random() * 10 if i < 3 else c for i, c in enumerate(counters)]
        at = NOW + timedelta(minutes=minute + rng.random() * 0.5)
        point = MemoryPoint(at, GIB, (1 - used) * GIB, GIB, rng.random() * GIB, *counters)
        keep_reading(window, point, keep)
        incremental = memory.assess(window, at, SUSTAIN, restarts)
        whole = memory.assess(list(window), at, SUSTAIN)
        assert whole == incremental
        assert whole is not None
        seen["reset"] += bool(restarts.resets)  # a restart within the window
        seen["oom"] += whole.oom_at is not None
        seen["changed"] += last is not None and last.need_bytes != whole.need_bytes
        last = whole
    assert all(count > 10 for count in seen.values()), seen


def _every_interval_assessed(points: list[cpu.CpuPoint]) -> cpu.CpuState | None:
    """The CPU state worked out from every interval at once (what ``cpu.assess`` must give,
    reading only as far back as it needs)."""
    pairs = itertools.pairwise(points)
    intervals = [(b.at, a.at, r) for a, b in pairs if (r := cpu._busy(a, b)) is not None]
    if not intervals or intervals[-1][0] != points[-1].at:
        return None
    since = None
    for end, start, ratio in reversed(intervals):
        if ratio <= cpu.CPU_BUSY_HIGH or (since is not None and end != since):
            break
        since = start
    busy_for = 0.0 if since is None else (points[-1].at - since).total_seconds()
    return cpu.CpuState(
        points[-1].at,
        intervals[-1][2],
        busy_for,
        since is not None and busy_for >= SUSTAIN.total_seconds(),
        points[-1].cpus,
    )


def test_the_cpu_state_reads_the_intervals_back_only_as_far_as_it_needs() -> None:
    """Busy runs, restarts (counters back to zero) and repeated readings, at random: the
    state read from the newest interval back is the one every interval gives."""
    rng = random.Random(5)
    held = none = 0
    for _ in range(300):
        points: list[cpu.CpuPoint] = []
        total = done = 0.0
        busy = rng.choice([0.5, 0.97, 1.0])  # how often a minute is busy
        for minute in range(rng.randint(1, 40)):
            if rng.random() < 0.03:
                total = done = 0.0  # a restart
            elif rng.random() > 0.03:  # else the same reading again
                total += 120.0
                done += 120.0 * (rng.choice([0.95, 1.0]) if rng.random() < busy else 0.2)
            points.append(cpu.CpuPoint(NOW + timedelta(minutes=minute), total, done, 2))
        state = cpu.assess(points, SUSTAIN)
        assert _every_interval_assessed(points) == state
        held += state is not None and state.held
        none += state is None
    assert held > 10, held
    assert none > 10, none
