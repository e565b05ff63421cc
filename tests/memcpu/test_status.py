"""`sbwatch status` shows memory, swap and the CPUs as the daemon last read them: the reading
against the provider's lines, a leak's forecast, the size that holds the use, the gauges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.commands.status import gather_status, render
from sbwatch.config.settings import Settings
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import HostSample
from sbwatch.core.tiers import Tier
from sbwatch.daemon.page import render_status_page
from sbwatch.policy.memory import GIB
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.host import HostFlow

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
MIB = 1024**2


def config() -> Settings:
    """One project, no probes."""
    return Settings.model_validate(
        {
            "projects": [{"ref": REF, "probes": {}}],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )


async def test_status_shows_memory_held_high_the_leak_and_the_sizes(store: SqliteStore) -> None:
    """An hour of scrapes on micro: free memory falls 3 MiB a minute (120 MiB and 0.9 GiB of
    swap left: an OOM in ~5h47m), the CPUs are 95% busy (iowait apart) for the last 20
    minutes. Status says RAM and swap, how long RAM has been high, the time to the OOM, small
    as the size that holds the 1.0 GB in use, and xl for more CPUs."""
    settings = config()
    flow = HostFlow(Metrics())
    total = busy = 0.0
    for minute in range(61):
        share = 0.95 if minute > 40 else 0.3
        total += 120.0
        busy += 120.0 * share
        at = NOW - timedelta(minutes=60 - minute)
        avail = (300 - 3 * minute) * MIB  # 120 MiB left at NOW: 88% used, above 75% for 45m
        swap_free = 0.9 * GIB  # 10% of the swap in use
        flow.fold(REF, HostSample(at, GIB, avail, GIB, swap_free, 0, 0, 0, 0, total, busy, 2))
    flow.assess(REF, settings.project(REF), NOW)
    await flow.save(store, REF, Tier.MICRO)
    report = await gather_status(store, settings, NOW)
    lines = render(report).splitlines()
    assert [
        "  memory       RAM 88% used (above 75% for 45m), swap 10%; falling steadily: out of "
        "memory in ~5h47m; small (2 GB) holds the 1.0 GB in use",
        "  cpu          95% busy of 2 CPUs (iowait apart), above 90% for 20m; xl has 4 CPUs",
    ] == [line for line in lines if line.startswith(("  memory", "  cpu"))]
    gauges = {
        name: flow.metrics.registry.get_sample_value(name, {"project": REF})
        for name in ("sbwatch_memory_used_ratio", "sbwatch_swap_used_ratio",
                     "sbwatch_cpu_busy_ratio")
    }  # fmt: skip
    assert {
        "sbwatch_memory_used_ratio": 0.883,
        "sbwatch_swap_used_ratio": 0.1,
        "sbwatch_cpu_busy_ratio": 0.95,
    } == {k: round(v or 0, 3) for k, v in gauges.items()}
    html = await render_status_page(store, settings, NOW)
    memory = "RAM 88% used (above 75% for 45m), swap 10%; falling steadily: out of memory in"
    assert (True, True) == (
        f'<p class="memory"><b>Memory</b> {memory} ~5h47m; small (2 GB) holds the 1.0 GB in use'
        in html,
        '<p class="cpu"><b>CPU</b> 95% busy of 2 CPUs (iowait apart), above 90% for 20m; xl has'
        " 4 CPUs</p>" in html,
    ), html[html.find('class="memory"') - 20 :][:600]


async def test_status_shows_nothing_of_memory_before_a_reading(store: SqliteStore) -> None:
    """No scrape yet: no memory or cpu line."""
    report = await gather_status(store, config(), NOW)
    assert not [line for line in render(report).splitlines() if "memory" in line]
