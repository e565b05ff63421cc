"""``sbwatch budget`` and ``sbwatch budget set`` against a real SQLite state store."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sbwatch.cli import main
from sbwatch.config.settings import load_settings
from sbwatch.core.results import BudgetEstimate, IoSample
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.store import open_store
from sbwatch.watch.state import STATE_NAMESPACE, correction_key, estimator_key, parse_correction

REF = "abcdefghijklmnopqrst"
OTHER = "zyxwvutsrqponmlkjihg"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with two projects and a SQLite state file in a temporary directory."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        + "".join(
            f'[[projects]]\nref = "{ref}"\nname = "{name}"\ntier = "micro"\n'
            f'service_key = "k"\nmgmt_token = "t"\ndb_dsn = "postgresql://127.0.0.1/x"\n'
            for ref, name in ((REF, "shop"), (OTHER, "blog"))
        )
    )
    return path


async def seed(config: Path) -> datetime:
    """Store one sample and one estimate for REF."""
    now = datetime.now(UTC).replace(microsecond=0)
    store = await open_store(load_settings(config).state)
    try:
        await store.record_io_sample(REF, IoSample(now - timedelta(minutes=1), 1e9, 0, 1e4, 0))
        await store.record_budget(
            BudgetEstimate(REF, now, Tier.MICRO, 0.625, 4.0, 7200.0, 0.8, 15.0, 120.0)
        )
    finally:
        await store.close()
    return now


async def test_budget_json_shows_estimate_and_sample(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json lists every project with its estimate, percentages and latest sample time."""
    now = await seed(config)
    assert 0 == await _main(["-c", str(config), "budget", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert [REF, OTHER] == [row["project"] for row in rows]
    shop = rows[0]
    assert (62.5, 37.5, 7200.0) == (
        shop["estimate"]["left_pct"],
        shop["estimate"]["consumed_pct"],
        shop["estimate"]["eta_s"],
    )
    assert (now - timedelta(minutes=1)).isoformat() == shop["latest_sample_at"]
    assert (None, "micro") == (rows[1]["estimate"], rows[1]["tier"])


async def test_budget_text_for_one_project(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text view shows % left and consumed, burn and ETA like the dashboard."""
    await seed(config)
    assert 0 == await _main(["-c", str(config), "budget", REF])
    out = capsys.readouterr().out
    assert "62.5% left (37.5% consumed)" in out
    assert "+4.00 MB/s net" in out
    assert "blog" not in out


async def test_budget_set_records_a_correction(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'budget set REF PCT' stores the reading for the daemon to apply."""
    before = datetime.now(UTC)
    assert 0 == await _main(["-c", str(config), "budget", "set", REF, "37.5"])
    store = await open_store(load_settings(config).state)
    try:
        doc = await store.get_state(STATE_NAMESPACE, correction_key(REF))
    finally:
        await store.close()
    assert doc is not None
    pct, at = parse_correction(doc)
    assert 37.5 == pct
    assert before <= at <= datetime.now(UTC)
    assert "recorded 37.5% consumed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "words",
    [["set", REF, "150"], ["set", REF, "lots"], ["set", "nosuchprojectrefxxxx", "5"], ["set", REF]],
)
async def test_budget_set_refuses_bad_input(config: Path, words: list[str]) -> None:
    """Out-of-range or non-numeric percentages, unknown refs and missing args exit 2."""
    assert 2 == await _main(["-c", str(config), "budget", *words])


async def _main(argv: list[str]) -> int:
    """Run the CLI in a worker thread (it calls asyncio.run itself)."""
    return await asyncio.to_thread(main, argv)


async def test_budget_says_the_baseline_it_learned(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A baseline learned from throttled IO is said beside the published one."""
    await seed(config)
    store = await open_store(load_settings(config).state)
    try:
        learned = BudgetEstimator(REF, Tier.MICRO)
        learned.learned = {"micro": 13.8}
        await store.put_state(STATE_NAMESPACE, estimator_key(REF), learned.to_state())
    finally:
        await store.close()
    assert 0 == await _main(["-c", str(config), "budget", REF])
    out = capsys.readouterr().out
    assert "micro really holds 13.8 MB/s once throttled (published 11)" in out


async def test_budget_says_a_level_never_read_and_how_to_pin_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An estimate whose level was assumed at first start is shown as such, with the exact
    command that pins it; the flag survives the store."""
    now = datetime.now(UTC).replace(microsecond=0)
    store = await open_store(load_settings(config).state)
    try:
        estimate = BudgetEstimate(REF, now, Tier.MICRO, 0.9, 4.0, 7200.0, 0.5, 15.0, 120.0)
        await store.record_budget(replace(estimate, assumed=True))
    finally:
        await store.close()
    assert 0 == await _main(["-c", str(config), "budget", REF])
    out = capsys.readouterr().out
    assert "The level was assumed full when sbwatch began" in out
    assert f"sbwatch budget set {REF} PCT" in out
