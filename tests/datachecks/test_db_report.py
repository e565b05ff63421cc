"""``sbwatch db report REF``: untouched tables between two kept samples, printed, never dropped."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.datachecks.conftest import DB_PASSWORD, REF, Database

from sbwatch.data.activity import Sample, TableNow, baseline, kept, report

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def sbwatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sbwatch --config CONFIG ARGS`` with this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "sbwatch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def report_json(config: Path, *args: str) -> dict[str, Any]:
    """One ``db report REF --json``; it must succeed."""
    done = sbwatch(config, "db", "report", REF, "--json", *args)
    assert 0 == done.returncode, done.stderr
    assert DB_PASSWORD not in done.stdout + done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


async def test_tables_no_writer_touched_between_two_runs_are_listed_biggest_first(
    database: Database, tmp_path: Path
) -> None:
    """The first run lists tables never written; the second, tables whose write counters did
    not move since the first run's sample, biggest first; nothing is dropped."""
    await database.execute(
        "CREATE TABLE public.active (id int); CREATE TABLE public.idle (id int, pad text);"
        " CREATE TABLE public.never (id int); CREATE SCHEMA auth; CREATE TABLE auth.users (id int);"
        " INSERT INTO public.idle SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;"
        " INSERT INTO public.active VALUES (1)"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        f'[[projects]]\nref = "{REF}"\ndb_dsn = "{database.dsn}"\nprobes = {{ db = {{}} }}\n',
        encoding="utf-8",
    )
    first = report_json(config)
    assert ("statistics", ["public.never"], 3) == (
        first["baseline"],
        [t["table"] for t in first["untouched"]],
        first["tables"],
    )
    await database.execute("INSERT INTO public.active VALUES (2)")
    second = report_json(config)
    assert ("sample", first["sampled_at"], ["public.idle", "public.never"]) == (
        second["baseline"],
        second["since"],
        [t["table"] for t in second["untouched"]],
    )
    idle = second["untouched"][0]
    assert idle["bytes"] > 100_000
    assert 2 == second["samples_kept"]

    text = sbwatch(config, "db", "report", REF, "--since", "7d")
    assert 0 == text.returncode, text.stderr
    assert "no kept sample reaches back to" in text.stdout
    assert "sbwatch drops nothing" in text.stdout
    conn = await database.connect()
    try:
        assert 3 == await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await conn.close()


def _sample(hours: float, writes: float, reset: datetime | None = None) -> Sample:
    return Sample(T0 + timedelta(hours=hours), reset, {"public.t": (writes, 0.0)})


def test_the_baseline_is_the_newest_sample_at_or_before_since() -> None:
    """--since picks the newest sample not after it; none when all are newer; the oldest by
    default; keeping keeps the oldest and the newest."""
    samples = [_sample(h, 0) for h in (0, 24, 48)]
    assert samples[1] == baseline(samples, T0 + timedelta(hours=30))
    assert baseline(samples, T0 - timedelta(hours=1)) is None
    assert samples[0] == baseline(samples, None)
    many = kept([_sample(h, 0) for h in range(10)], _sample(10, 0), limit=4)
    assert [0, 8, 9, 10] == [int((s.at - T0).total_seconds() // 3600) for s in many]


def test_a_statistics_reset_falls_back_to_tables_never_written_since() -> None:
    """After a reset the old counters say nothing: only tables with no write at all count."""
    reset = T0 + timedelta(hours=30)
    now = Sample(T0 + timedelta(hours=48), reset, {"public.t": (0.0, 0.0), "public.u": (5, 0)})
    tables = [TableNow("public.t", 0, 0, 0, 8192), TableNow("public.u", 5, 0, 1, 8192)]
    found = report(_sample(0, 0), now, tables)
    assert ("statistics", reset, ["public.t"]) == (
        found.baseline,
        found.since,
        [t.name for t in found.untouched],
    )
