"""A probe added by the book is heard: its registry entry alone brings its failures into the
signals, diagnosis, the alerts, uptime, the recovery check and the replay.

The probe here is a throwaway: a storage service probe that lives only in this file. It gets
what a real probe gets (a member of ``ProbeKind``, a ``ProbeSpec`` in the registry, a class the
spec names) for the length of one test, and nothing else anywhere learns its name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.probe_specs import (
    REGISTRY,
    Counts,
    ProbeSpec,
    recovery_probes,
    services,
    throttled_services,
)
from sbwatch.core.results import (
    DiagnosisKind,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
)
from sbwatch.policy.alerts import service_subjects
from sbwatch.policy.diagnosis import Signals, diagnose
from sbwatch.probes.base import ProbeContext
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario
from sbwatch.sim.truth import START
from sbwatch.watch.signals import build_signals

NAME = "storage"
DOWN_FROM = timedelta(minutes=20)
"""Into the replay, the storage service stops answering."""
REF = "abcdefghijklmnopqrst"
SCENARIO = f"""
name = "storage-down"
duration = "1h"

[project]
ref = "{REF}"
tier = "micro"
io_budget_pct = 100

[policy]
mode = "off"

[[events]]
at = "0s"
kind = "workload"
read_mbps = 5
"""


class StorageProbe:
    """Is the project's storage answering? Up until ``DOWN_FROM`` into the replay, then not."""

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        self.kind = ProbeKind(NAME)

    async def run(self) -> ProbeResult:
        """Answer from the clock: the storage service fails from ``DOWN_FROM`` on."""
        now = self._ctx.clock.now()
        down = now >= START + DOWN_FROM
        return ProbeResult(
            project=self._ctx.project.ref,
            probe=self.kind,
            outcome=Outcome.FAIL if down else Outcome.OK,
            at=now,
            duration_s=0.1,
            detail="HTTP 503" if down else "",
            status_code=503 if down else 200,
        )

    async def aclose(self) -> None:
        """Nothing to release."""


def _rebuild() -> None:
    """Have the configuration's models read ``ProbeKind``'s members again."""
    ProjectSettings.model_rebuild(force=True)
    Settings.model_rebuild(force=True)


@pytest.fixture
def storage() -> Iterator[ProbeKind]:
    """The throwaway probe registered as a built-in one is: a kind, one registry entry."""
    member = str.__new__(ProbeKind, NAME)
    member._name_ = NAME.upper()
    member._value_ = NAME
    names = list(ProbeKind._member_names_)
    ProbeKind._member_map_[member.name] = member
    ProbeKind._value2member_map_[NAME] = member
    ProbeKind._member_names_.append(member.name)
    REGISTRY[member] = ProbeSpec(
        member,
        f"{__name__}:StorageProbe",
        secrets=("service_key",),
        service=NAME,
        counts=Counts.OUTAGE,
    )
    _rebuild()
    try:
        yield member
    finally:
        del REGISTRY[member]
        ProbeKind._member_names_[:] = names
        del ProbeKind._member_map_[member.name]
        del ProbeKind._value2member_map_[NAME]
        _rebuild()


def test_the_registry_says_what_each_built_in_probe_watches() -> None:
    """db, rest and auth speak for their services, db and rest throttled by a used-up IO
    budget; a recovery waits for them and the provider's health report; the rest is evidence."""
    assert ("db", "rest", "auth") == services()
    assert frozenset({"db", "rest"}) == throttled_services()
    expected = (ProbeKind.DB, ProbeKind.REST, ProbeKind.AUTH, ProbeKind.MGMT_HEALTH)
    assert expected == recovery_probes()
    evidence = {ProbeKind.METRICS, ProbeKind.STATUS_PAGE, ProbeKind.DATA}
    assert evidence == {k for k, spec in REGISTRY.items() if spec.counts is Counts.EVIDENCE}


def test_a_spec_that_speaks_for_a_service_counts_as_its_outage() -> None:
    """A service with evidence-only failures, or a throttled source of evidence, is refused."""
    with pytest.raises(ValueError, match="counts as outage"):
        ProbeSpec(ProbeKind.REST, "m:C", service="rest")
    with pytest.raises(ValueError, match="only a service"):
        ProbeSpec(ProbeKind.METRICS, "m:C", throttled=True)


def _status(kind: ProbeKind, state: ProbeState, at: datetime, outcome: Outcome) -> ProbeStatus:
    result = ProbeResult(REF, kind, outcome, at, 0.1, status_code=200)
    fails = state is ProbeState.DOWN
    return ProbeStatus(
        REF, kind, state, int(not fails), 2 * fails, at, result, at if fails else None
    )


def test_an_added_service_probe_is_diagnosed_and_alerted(storage: ProbeKind) -> None:
    """The storage probe down while db, rest and auth answer: the signals carry it, diagnosis
    says service_down naming storage, a cause takes its alert in, and a recovery waits for it."""
    now = datetime(2026, 5, 20, 12, tzinfo=UTC)
    ok = {k: _status(k, ProbeState.UP, now, Outcome.OK) for k in (ProbeKind.REST, ProbeKind.AUTH)}
    down = _status(storage, ProbeState.DOWN, now - timedelta(minutes=5), Outcome.FAIL)
    signals = build_signals(
        REF,
        now,
        {**ok, storage: down},
        provider=None,
        budget=None,
        pressure=None,
        emails=(),
        warn_horizon_s=3600.0,
        low_ratio=0.2,
    )
    assert ProbeState.DOWN == signals.services[NAME]
    found = diagnose(signals)
    assert (DiagnosisKind.SERVICE_DOWN, NAME, (NAME,)) == (
        found.kind,
        found.service,
        found.services,
    )
    assert f"service:{NAME}" in service_subjects()
    assert storage in recovery_probes()


def test_an_added_probe_the_api_does_not_report_on_cannot_outvote_it(storage: ProbeKind) -> None:
    """Every own probe passes, the storage one among them, while the Management API reports
    every service it knows (db, rest, auth) UNHEALTHY: the signals contradict each other,
    unknown, not healthy, as without the added probe."""
    now = datetime(2026, 5, 20, 12, tzinfo=UTC)
    up = {name: ProbeState.UP for name in ("db", "rest", "auth", NAME)}
    bad = {name: "UNHEALTHY" for name in ("db", "rest", "auth")}
    signals = Signals(
        ref=REF,
        now=now,
        services=up,
        mgmt_services=bad,
        project_status="ACTIVE_HEALTHY",
        mgmt_reachable=True,
    )
    assert DiagnosisKind.UNKNOWN is diagnose(signals).kind


def test_the_replay_probes_an_added_probe_and_reports_it(storage: ProbeKind) -> None:
    """Replayed, the storage probe runs beside the built-in ones; from 20 minutes in it is down,
    diagnosed as service_down, paged as `storage is down`, and its uptime reported."""
    report: dict[str, Any] = asyncio.run(replay(parse_scenario(SCENARIO)))
    states = [(s["at_s"], s["state"]) for s in report["probe_states"] if s["probe"] == NAME]
    assert states[0] == (0.0, "up")
    assert "down" == states[-1][1]
    assert states[-1][0] >= DOWN_FROM.total_seconds()
    kinds = [d["kind"] for d in report["diagnoses"]]
    assert "healthy" == kinds[0]
    assert "service_down" in kinds
    paged = [
        a for a in report["alerts"] if a["kind"] == "open" and a["key"] == f"{REF}:service:{NAME}"
    ]
    assert ["critical"] == [a["severity"] for a in paged]
    assert paged[0]["title"].endswith(f"{NAME} is down")
    uptime = {row["service"]: row for row in report["uptime"]}
    assert {"rest", "auth", NAME} == set(uptime)
    assert uptime[NAME]["down_s"] > 0
