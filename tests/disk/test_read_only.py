"""A read-only database is a full disk: from the used share, or from a refused write that the
database probe reports; and the words of the disk alert name the limit and the lever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from sbwatch.alerting.words import cannot_grow, disk_lines, disk_title, evidence_lines
from sbwatch.core.results import (
    DiagnosisKind,
    EscalationMode,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
)
from sbwatch.policy.diagnosis import Signals, diagnose
from sbwatch.policy.disk import DiskBounds, DiskPoint, decide_disk, forecast
from sbwatch.probes._pg import outcome_of
from sbwatch.supabase.disk import GB
from sbwatch.watch.signals import build_signals

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
UP = {"db": ProbeState.UP, "rest": ProbeState.UP, "auth": ProbeState.UP}


def test_a_refused_write_maps_to_a_read_only_detail() -> None:
    """SQLSTATE 25006 is said as the read-only transaction it is, not a generic error."""
    outcome, detail = outcome_of(asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT"))
    assert (Outcome.FAIL, True) == (outcome, "in a read-only transaction" in detail)


def test_the_db_probe_seeing_read_only_is_disk_full() -> None:
    """The database probe's refused write makes the diagnosis disk_full, without metrics."""
    outcome, detail = outcome_of(asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT"))
    result = ProbeResult(REF, ProbeKind.DB, outcome, NOW, 0.1, detail)
    status = ProbeStatus(REF, ProbeKind.DB, ProbeState.DOWN, 0, 2, NOW, result, NOW)
    signals = build_signals(
        REF,
        NOW,
        {ProbeKind.DB: status},
        provider=None,
        budget=None,
        pressure=None,
        emails=(),
        warn_horizon_s=7200.0,
        low_ratio=0.2,
    )
    found = diagnose(signals)
    assert (DiagnosisKind.DISK_FULL, True) == (
        found.kind,
        any("read-only transaction" in line for line in evidence_lines(found.evidence)),
    )


def test_a_healthy_project_below_95_percent_is_not_disk_full() -> None:
    """94% used, services up: healthy (the forecast warns, the diagnosis does not page)."""
    found = diagnose(Signals(REF, NOW, services=UP, disk_used_ratio=0.94))
    assert DiagnosisKind.HEALTHY == found.kind


def test_the_words_name_the_limit_the_time_it_frees_and_the_lever() -> None:
    """Quota spent: the title gives the time to read-only, the body the quota, when the next
    change is allowed, and that sbwatch cannot grow it either."""
    changes = [NOW - timedelta(hours=h) for h in (20, 15, 10, 2)]
    points = [
        DiskPoint(NOW - timedelta(minutes=5 * (12 - i)), 40 * GB, (30 - 2 * (12 - i) / 12) * GB)
        for i in range(13)
    ]
    fc = forecast(points, changes, NOW)
    assert fc is not None
    bounds = DiskBounds(EscalationMode.ASK, 86_400.0, 259_200.0, 100, 30.0, 10.0, 3600.0)
    decision = decide_disk(fc, bounds, 40, now=NOW)
    assert "disk 75% full: database read-only in ~4h" == disk_title(fc)
    assert (
        "The provider cannot grow it: its quota of 4 disk changes in 24 h is spent; the next "
        "change is allowed at Wed 16:00 UTC."
    ) == cannot_grow(fc)
    lines = disk_lines(fc, decision, REF)
    assert "/data: 30.0 of 40 GB used, filling 2.00 GB/h." == lines[0]
    assert "sbwatch cannot grow it either until then: a disk change now would be refused." in lines
