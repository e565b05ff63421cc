"""Right-sizing: a recorded week replayed through every size names the one a person would pick."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import BudgetEstimate, IoSample
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.plan import plan, rates
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher

from ..in_process import run_main
from ..system.conftest import REF as SIM_REF
from ..system.conftest import SIM_TOKEN, run_cli, start_sim

T0 = datetime(2026, 5, 18, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"
OP = 131_072


def week(day_mbps: float, night_mbps: float, *, step_s: int = 300) -> list[IoSample]:
    """Seven days of a busy day and a quiet night, sampled every ``step_s``."""
    samples, total = [], 0.0
    for i in range(7 * 86_400 // step_s + 1):
        at = T0 + timedelta(seconds=i * step_s)
        samples.append(IoSample(at, total, 0.0, total / OP, 0.0))
        total += (day_mbps if 8 <= at.hour < 20 else night_mbps) * 1e6 * step_s
    return samples


def test_a_week_that_drains_micro_picks_small() -> None:
    """28 MB/s by day drains micro daily; small's 22 MB/s baseline plus its burst carries it."""
    made = plan(week(28.0, 5.0), Tier.MICRO)
    by_tier = {s.tier: s for s in made.sizes}
    assert by_tier[Tier.MICRO].throttled_s > 0
    assert 0.0 == by_tier[Tier.MICRO].lowest_ratio
    assert Tier.SMALL == made.pick
    assert made.downgrade is None
    assert 7 * 86_400 == made.observed_s


def test_an_oversized_project_is_told_a_smaller_size_would_hold() -> None:
    """A quiet project on medium: micro would have held; it is proposed, never made."""
    made = plan(week(9.0, 3.0), Tier.MEDIUM)
    assert (Tier.MICRO, Tier.MICRO) == (made.pick, made.downgrade)


def test_restarts_and_gaps_are_left_out() -> None:
    """A counter going down and a long gap add no IO to the replay."""
    samples = week(10.0, 10.0)[:4]
    restarted = IoSample(samples[-1].at + timedelta(seconds=300), 0.0, 0.0, 0.0, 0.0)
    gap = IoSample(restarted.at + timedelta(hours=2), 1e12, 0.0, 1e6, 0.0)
    assert 3 == len(rates([*samples, restarted, gap]))


async def test_the_command_reads_the_recorded_week(tmp_path: Path) -> None:
    """`sbwatch plan REF --json` replays what the store recorded and names small."""
    store = SqliteStore(tmp_path / "state.db")
    await store.open()
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    shift = now - (T0 + timedelta(days=7))
    for sample in week(28.0, 5.0, step_s=600):
        await store.record_io_sample(REF, IoSample(sample.at + shift, *sample_values(sample)))
    await store.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n[[projects]]\nref = "{REF}"\n'
        'tier = "micro"\nprobes = {}\n'
    )
    done = run_cli("--config", str(config), "plan", REF, "--days", "8", "--json")
    assert 0 == done.returncode, done.stderr
    (doc,) = json.loads(done.stdout)
    assert ("small", None) == (doc["pick"], doc["downgrade"])
    text = run_cli("--config", str(config), "plan", REF, "--days", "8").stdout
    assert "the cheapest size that holds disk IO: small (decided by disk IO)" in text


def sample_values(sample: IoSample) -> tuple[float, float, float, float]:
    """The four counters of a sample."""
    return (
        sample.read_bytes_total,
        sample.written_bytes_total,
        sample.reads_completed_total,
        sample.writes_completed_total,
    )


async def weekly_notices(tmp_path: Path, samples: list[IoSample]) -> list[tuple[str, str]]:
    """(title, body) of what a micro project with plan_notice on hears from two plan checks an
    hour apart, a week of ``samples`` recorded; both checks must run (the second says nothing)."""
    store = SqliteStore(tmp_path / "state.db")
    await store.open()
    clock = VirtualClock(T0 + timedelta(days=7))
    for sample in samples:
        await store.record_io_sample(REF, sample)
    config = Settings.model_validate(
        {
            "projects": [
                {"ref": REF, "tier": "micro", "probes": {}, "budget": {"plan_notice": True}}
            ],
            "alerting": {"routes": [{"name": "phone", "url": "json://127.0.0.1:9/"}]},
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    async with httpx.AsyncClient() as http:
        metrics = Metrics()
        dispatcher = Dispatcher(store, config.alerting.routes, clock=clock, metrics=metrics)
        watcher = Watcher(
            config, store, clock=clock, metrics=metrics, http=http, dispatcher=dispatcher
        )
        await watcher.start()
        first = await watcher.plan_notice(REF)
        clock.advance(3600)
        second = await watcher.plan_notice(REF)
        await watcher.close()
    said = [(n.title, n.body) for n in await store.due_notifications(clock.now())]
    await store.close()
    assert first is not None
    assert second is None
    return said


async def test_the_weekly_notice_says_a_better_size_once_a_week(tmp_path: Path) -> None:
    """With plan_notice on, a micro project whose weeks need small hears it, then not again."""
    said = await weekly_notices(tmp_path, week(28.0, 5.0, step_s=600))
    assert [
        "INFO abcdefghijklmnopqrst: plan: small fits the last 14 days of disk IO (now micro)"
    ] == [title for title, _ in said]


async def recorded(path: Path, samples: list[IoSample], *, ratio: float | None = None) -> None:
    """A store holding ``samples`` moved to end now, and a budget estimate at the first."""
    store = SqliteStore(path)
    await store.open()
    shift = datetime.now(UTC).replace(microsecond=0) - samples[-1].at
    for sample in samples:
        await store.record_io_sample(REF, IoSample(sample.at + shift, *sample_values(sample)))
    if ratio is not None:
        at = samples[0].at + shift
        await store.record_budget(BudgetEstimate(REF, at, Tier.MEDIUM, ratio, 0.0, None, 1.0))
    await store.close()


def plan_config(tmp_path: Path, top: str = "", ref: str = REF) -> Path:
    """A configuration reading the store in ``tmp_path``."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'{top}[state]\npath = "state.db"\n[[projects]]\nref = "{ref}"\n'
        'tier = "medium"\nprobes = {}\n'
    )
    return config


async def test_each_size_starts_at_the_level_the_project_had(tmp_path: Path) -> None:
    """Right after the budget nearly ran out, a quiet week does not say "micro would have held
    too": every size starts at the 5% the project had, not full."""
    await recorded(tmp_path / "state.db", week(9.0, 3.0), ratio=0.05)
    config = plan_config(tmp_path)
    done = await asyncio.to_thread(
        run_main, "--config", config, "plan", REF, "--days", "8", "--json"
    )
    assert 0 == done.returncode, done.stderr
    (doc,) = json.loads(done.stdout)
    micro = next(s for s in doc["sizes"] if s["tier"] == "micro")
    assert micro["lowest_ratio"] <= 0.05
    assert "micro" not in (doc["pick"], doc["downgrade"])


async def test_a_few_minutes_of_history_name_no_size(tmp_path: Path) -> None:
    """Two minutes of samples: the plan says how little it rests on and names no size."""
    await recorded(tmp_path / "state.db", week(9.0, 3.0, step_s=60)[:3])
    config = plan_config(tmp_path)
    text = (await asyncio.to_thread(run_main, "--config", config, "plan", REF)).stdout
    assert "only 2m of history, less than a day" in text
    assert "the cheapest size" not in text
    assert "would have held too" not in text
    nano = next(line for line in text.splitlines() if line.strip().startswith("nano"))
    assert nano.endswith("free plan only")
    done = await asyncio.to_thread(run_main, "--config", config, "plan", REF, "--json")
    (doc,) = json.loads(done.stdout)
    assert doc["enough_history"] is False


def test_plan_prices_are_the_add_ons_listing_escalate_reads(tmp_path: Path) -> None:
    """With a token, ``plan`` prices each size from the provider's add-ons listing (the
    simulator over HTTP), as ``escalate`` does, not from the tier table."""
    sim = start_sim(tmp_path)
    try:
        asyncio.run(recorded(tmp_path / "state.db", week(9.0, 3.0)))
        top = f'mgmt_api_url = "{sim.url}"\nmgmt_token = "{SIM_TOKEN}"\n'
        config = plan_config(tmp_path, top, ref=SIM_REF)
        done = run_main("--config", config, "plan", "--days", "8", "--json")
        listed = httpx.get(
            f"{sim.url}/v1/projects/{SIM_REF}/billing/addons",
            headers={"Authorization": f"Bearer {SIM_TOKEN}"},
            timeout=5,
        ).json()
    finally:
        sim.proc.close()
    (doc,) = json.loads(done.stdout)
    prices = {s["tier"]: s["monthly_usd"] for s in doc["sizes"]}
    hourly = next(
        v["price"]["amount"]
        for addon in listed["available_addons"]
        for v in addon["variants"]
        if v["id"] == "ci_small"
    )
    assert prices["small"] != spec(Tier.SMALL).monthly_usd
    assert abs(prices["small"] - hourly * 730) < 0.5
