"""Diagnosis tables: every kind, the May 26 incident, and what an email may and may not change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.words import evidence_lines, fact_line
from sbwatch.core.connections import DIRECT, ConnReading
from sbwatch.core.facts import FactKind
from sbwatch.core.results import (
    ApiFault,
    ApiTrouble,
    BudgetEstimate,
    DiagnosisKind,
    EmailKind,
    Outcome,
    ProbeState,
    ProviderEmail,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.connections import ConnAssessment, ConnPoint, assess
from sbwatch.policy.diagnosis import Signals, diagnose, throttle_seen

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
UP = {"db": ProbeState.UP, "rest": ProbeState.UP, "auth": ProbeState.UP}
DOWN = {"db": ProbeState.DOWN, "rest": ProbeState.DOWN, "auth": ProbeState.DOWN}
API_OK = {"db": "ACTIVE_HEALTHY", "rest": "ACTIVE_HEALTHY", "auth": "ACTIVE_HEALTHY"}
API_BAD = {"db": "UNHEALTHY", "rest": "UNHEALTHY", "auth": "UNHEALTHY"}
COMPONENTS_OK = {"Database": "operational", "REST API": "operational", "Auth": "operational"}


def budget(
    ratio: float = 0.8,
    eta_s: float | None = None,
    *,
    tier: Tier = Tier.MICRO,
    throughput: float = 8.0,
    confidence: float = 0.9,
) -> BudgetEstimate:
    """A budget estimate of the test project."""
    return BudgetEstimate(
        project=REF,
        at=NOW,
        tier=tier,
        ratio=ratio,
        burn_mbps=0.0,
        eta_s=eta_s,
        confidence=confidence,
        throughput_mbps=throughput,
    )


def email(
    kind: EmailKind = EmailKind.IO_BUDGET_WARNING,
    *,
    trusted: bool = True,
    hours_ago: float = 2.0,
    ref: str | None = REF,
) -> ProviderEmail:
    """A provider email about the test project."""
    return ProviderEmail(
        message_id=f"<{kind}-{trusted}-{hours_ago}@mail>",
        kind=kind,
        project_ref=ref,
        received_at=NOW - timedelta(hours=hours_ago),
        subject="Your project is depleting its Disk IO Budget",
        sender="noreply@supabase.com" if trusted else "noreply@supabase-billing.example",
        trusted=trusted,
        trust_reason="dkim=pass" if trusted else "dkim=fail",
    )


def sig(**changes: object) -> Signals:
    """A healthy, fully observed project with some fields changed."""
    base = Signals(
        ref=REF,
        now=NOW,
        services=dict(UP),
        outcomes={"db": Outcome.OK, "rest": Outcome.OK, "auth": Outcome.OK},
        mgmt_services=dict(API_OK),
        project_status="ACTIVE_HEALTHY",
        mgmt_reachable=True,
        status_indicator="none",
        status_components=dict(COMPONENTS_OK),
        status_reachable=True,
        budget=budget(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]  # test builder, fields vary


TIMEOUTS = {"db": Outcome.TIMEOUT, "rest": Outcome.TIMEOUT, "auth": Outcome.TIMEOUT}
REFUSED = {"db": Outcome.ERROR, "rest": Outcome.ERROR, "auth": Outcome.ERROR}

MAY26 = sig(
    services=dict(DOWN),
    outcomes={"db": Outcome.TIMEOUT, "rest": Outcome.TIMEOUT, "auth": Outcome.FAIL},
    status_codes={"rest": 544, "auth": 503},
    mgmt_services=dict(API_BAD),
    project_status="ACTIVE_HEALTHY",
    budget=budget(0.0, 0.0, throughput=11.0),
    iowait_ratio=0.7,
    emails=(email(hours_ago=100), email(hours_ago=3)),
)

PLATFORM_DOWN = sig(
    services=dict(DOWN),
    outcomes=dict(REFUSED),
    mgmt_services=None,
    project_status=None,
    mgmt_reachable=False,
    budget=budget(0.8),
)


def pools(direct_used: float, minutes: int = 10) -> ConnAssessment:
    """Postgres's connections of a micro (max 60) held at ``direct_used`` for ``minutes``."""
    reading = ConnReading(direct_used=direct_used, direct_max=60.0)
    points = [ConnPoint(NOW - timedelta(minutes=m), reading) for m in (minutes, 0)]
    found = assess(points, Tier.MICRO, NOW)
    assert found is not None
    return found


CASES: list[tuple[str, Signals, DiagnosisKind, str | None]] = [
    ("all probes up, budget fine", sig(), DiagnosisKind.HEALTHY, None),
    (
        "own probes not run yet, the API says healthy",
        sig(services={}, outcomes={}),
        DiagnosisKind.HEALTHY,
        None,
    ),
    ("cpu busy but services up", sig(cpu_busy_ratio=0.99), DiagnosisKind.HEALTHY, None),
    (
        "untrusted warning email alone",
        sig(emails=(email(trusted=False),)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "trusted warning email older than 24 h",
        sig(emails=(email(hours_ago=30),)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "trusted warning email about another project",
        sig(emails=(email(ref="zzzzzzzzzzzzzzzzzzzz"),)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "a 4XL has no burst budget to run out of",
        sig(budget=budget(0.0, 10.0, tier=Tier.XL4)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "status page minor for Storage, project fine",
        sig(status_indicator="minor"),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "management API down while the project answers",
        sig(mgmt_reachable=False, mgmt_services=None),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "forecast runs out within the warn horizon",
        sig(budget=budget(0.5, 3 * 3600)),
        DiagnosisKind.IO_BUDGET_LOW,
        None,
    ),
    (
        "forecast beyond the warn horizon",
        sig(budget=budget(0.5, 30 * 3600)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    ("budget below the low ratio", sig(budget=budget(0.1)), DiagnosisKind.IO_BUDGET_LOW, None),
    (
        "budget used up but services still up",
        sig(budget=budget(0.0, 0.0)),
        DiagnosisKind.IO_BUDGET_LOW,
        None,
    ),
    (
        "trusted warning email, budget fine",
        sig(emails=(email(),)),
        DiagnosisKind.IO_BUDGET_LOW,
        None,
    ),
    (
        "trusted exhausted email without a ref",
        sig(emails=(email(EmailKind.IO_BUDGET_EXHAUSTED, ref=None),)),
        DiagnosisKind.IO_BUDGET_LOW,
        None,
    ),
    (
        "trusted CPU email is not about the IO budget",
        sig(emails=(email(EmailKind.CPU),)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "May 26: all down, budget zero, email, status green",
        MAY26,
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "budget exhausted while the status page is minor for Storage",
        replace(MAY26, status_indicator="minor"),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "budget exhausted while Storage (configured) is degraded",
        replace(
            MAY26,
            status_indicator="minor",
            status_components={**COMPONENTS_OK, "Storage": "degraded_performance"},
        ),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "budget exhausted while the status page says major",
        replace(MAY26, status_indicator="major"),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "REST 522 with iowait high and throughput flat at baseline",
        sig(status_codes={"rest": 522}, budget=budget(0.3, throughput=11.5), iowait_ratio=0.6),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "rest failing, throughput flat at baseline, estimate low, iowait not measured",
        sig(status_codes={"rest": 544}, budget=budget(0.1, throughput=11.0)),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "rest failing, the IO operations held at micro's 500 IOPS, the estimate low",
        sig(
            status_codes={"rest": 544},
            budget=replace(budget(0.12, throughput=4.1), iops=505.0, limited_by="iops"),
        ),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "rest failing, 505 IOPS but the estimate well filled: not named the budget",
        sig(
            status_codes={"rest": 544},
            budget=replace(budget(0.6, throughput=4.1), iops=505.0, limited_by="iops"),
        ),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest failing, 44 MB/s on medium near its baseline, the estimate overdrawn: not named",
        sig(
            status_codes={"rest": 544},
            budget=replace(budget(0.0, tier=Tier.MEDIUM, throughput=43.9), overdrawn=True),
        ),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest failing, 40.7 MB/s on medium (4% over its 39 MB/s), 15% left, no iowait: a load "
        "served a little above the baseline all along, not a throttle",
        sig(status_codes={"rest": 544}, budget=budget(0.15, tier=Tier.MEDIUM, throughput=40.7)),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "the same 4% over with the disks waiting: held, the estimate was wrong",
        sig(
            status_codes={"rest": 544},
            budget=budget(0.15, tier=Tier.MEDIUM, throughput=40.7),
            iowait_ratio=0.6,
        ),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "rest failing, the estimate at 1% but 7.9 MB/s on micro (well under its baseline, the "
        "budget earning back): a load the baseline serves whole is held back by no budget",
        sig(status_codes={"rest": 544}, budget=replace(budget(0.01, throughput=7.9), iops=60.0)),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest failing at the baseline with the estimate well filled: not named the budget",
        sig(status_codes={"rest": 544}, budget=budget(0.6, throughput=11.0)),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "auth down alone while the budget is used up: a fault of its own",
        sig(services={**UP, "auth": ProbeState.DOWN}, budget=budget(0.0, throughput=11.0)),
        DiagnosisKind.SERVICE_DOWN,
        "auth",
    ),
    (
        "rest failing, 11.8 MB/s on micro (7% over its baseline), the estimate low: a throttle "
        "never serves over the baseline, so the budget still pays and is not the cause",
        sig(status_codes={"rest": 544}, budget=budget(0.05, throughput=11.8)),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest failing, 8.8 MB/s on micro (20% under its baseline), the estimate low: held",
        sig(status_codes={"rest": 544}, budget=budget(0.05, throughput=8.8)),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "REST 522 with iowait high but throughput far above baseline",
        sig(status_codes={"rest": 522}, budget=budget(0.3, throughput=200.0), iowait_ratio=0.6),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest down with CPU saturated",
        sig(services={**UP, "rest": ProbeState.DOWN}, cpu_busy_ratio=0.97),
        DiagnosisKind.CPU_EXHAUSTED,
        None,
    ),
    (
        "db down with memory exhausted",
        sig(services={**UP, "db": ProbeState.DOWN}, mem_available_ratio=0.02, cpu_busy_ratio=0.95),
        DiagnosisKind.MEMORY_EXHAUSTED,
        None,
    ),
    ("disk 96% used: read-only mode", sig(disk_used_ratio=0.96), DiagnosisKind.DISK_FULL, None),
    (
        "rest down with Postgres's connections full",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            status_codes={"rest": 503},
            connections=pools(57),
        ),
        DiagnosisKind.CONNECTIONS_EXHAUSTED,
        None,
    ),
    (
        "the db probe refused: too many connections",
        sig(services={**UP, "db": ProbeState.DOWN}, refused_pool=DIRECT),
        DiagnosisKind.CONNECTIONS_EXHAUSTED,
        None,
    ),
    (
        "a full pool with every service answering is not a failure",
        sig(connections=pools(57)),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "rest down with the pool 80% used is not exhausted connections",
        sig(services={**UP, "rest": ProbeState.DOWN}, mgmt_seen_at=None, connections=pools(48)),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "a used-up budget comes before full connections (slow queries hold them)",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            budget=budget(0.0, 0.0, throughput=11.0),
            iowait_ratio=0.7,
            connections=pools(57),
        ),
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        None,
    ),
    (
        "disk full explains a failing db even with an empty budget",
        sig(services={**UP, "db": ProbeState.DOWN}, disk_used_ratio=0.97, budget=budget(0.0, 0.0)),
        DiagnosisKind.DISK_FULL,
        None,
    ),
    (
        "project paused",
        sig(services=dict(DOWN), project_status="INACTIVE"),
        DiagnosisKind.PROJECT_PAUSED,
        None,
    ),
    ("project pausing", sig(project_status="PAUSING"), DiagnosisKind.PROJECT_PAUSED, None),
    (
        "REST answers 402: the organization's quota",
        sig(services={**UP, "rest": ProbeState.DOWN}, status_codes={"rest": 402}),
        DiagnosisKind.QUOTA_RESTRICTED,
        None,
    ),
    (
        "every provider endpoint fails, status page reachable (still green)",
        PLATFORM_DOWN,
        DiagnosisKind.PLATFORM_OUTAGE,
        None,
    ),
    (
        "every provider endpoint fails, status page major",
        replace(PLATFORM_DOWN, status_indicator="major"),
        DiagnosisKind.PLATFORM_OUTAGE,
        None,
    ),
    (
        "db down and the status page marks Database down",
        sig(
            services={**UP, "db": ProbeState.DOWN},
            status_indicator="minor",
            status_components={**COMPONENTS_OK, "Database": "major_outage"},
        ),
        DiagnosisKind.PLATFORM_OUTAGE,
        None,
    ),
    (
        "every provider endpoint fails, status page unreachable too",
        replace(PLATFORM_DOWN, status_reachable=False, status_indicator=None, status_components={}),
        DiagnosisKind.LOCAL_NETWORK,
        None,
    ),
    (
        "nothing reachable, the budget is empty: still our network",
        replace(
            PLATFORM_DOWN, outcomes=dict(TIMEOUTS), status_reachable=False, budget=budget(0.0, 0.0)
        ),
        DiagnosisKind.LOCAL_NETWORK,
        None,
    ),
    (
        "provider unreachable, no status page to compare",
        replace(PLATFORM_DOWN, status_reachable=None, status_indicator=None, status_components={}),
        DiagnosisKind.UNKNOWN,
        None,
    ),
    (
        "rest down alone",
        sig(services={**UP, "rest": ProbeState.DOWN}),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "auth reported UNHEALTHY by the API, own auth probe not run",
        sig(
            services={"db": ProbeState.UP, "rest": ProbeState.UP},
            mgmt_services={**API_OK, "auth": "UNHEALTHY"},
        ),
        DiagnosisKind.SERVICE_DOWN,
        "auth",
    ),
    (
        "pg_up 0, db probe unknown",
        sig(services={"rest": ProbeState.UP, "auth": ProbeState.UP}, pg_up=False),
        DiagnosisKind.SERVICE_DOWN,
        "db",
    ),
    (
        "rest and auth probed and up, no db probe, the API rate limited: healthy",
        sig(
            services={"rest": ProbeState.UP, "auth": ProbeState.UP},
            outcomes={"rest": Outcome.OK, "auth": Outcome.OK},
            mgmt_services=None,
            project_status=None,
            mgmt_lever=ApiTrouble(ApiFault.RATE_LIMITED),
        ),
        DiagnosisKind.HEALTHY,
        None,
    ),
    (
        "a resize under way (status RESIZING) with the services restarting",
        sig(services=dict(DOWN), project_status="RESIZING"),
        DiagnosisKind.RESIZING,
        None,
    ),
    (
        "a resize under way while the status page shows a component degraded",
        sig(
            services=dict(DOWN),
            project_status="RESIZING",
            status_indicator="minor",
            status_components={**COMPONENTS_OK, "Storage": "degraded_performance"},
        ),
        DiagnosisKind.RESIZING,
        None,
    ),
    (
        "rest down since after the API was last read, moments ago: its word is awaited",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            down_since={"rest": NOW - timedelta(seconds=20)},
            mgmt_seen_at=NOW - timedelta(seconds=40),
        ),
        DiagnosisKind.UNKNOWN,
        None,
    ),
    (
        "rest down, the API read since it began: rest is down",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            down_since={"rest": NOW - timedelta(seconds=60)},
            mgmt_seen_at=NOW - timedelta(seconds=10),
        ),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest down for long without the API answering since: rest is down",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            down_since={"rest": NOW - timedelta(minutes=5)},
            mgmt_seen_at=NOW - timedelta(minutes=6),
        ),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest down since after the metrics were last scraped, the API read since: the budget, "
        "a pool or the CPUs may be the cause the next scrape names, so it is awaited",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            down_since={"rest": NOW - timedelta(seconds=20)},
            mgmt_seen_at=NOW - timedelta(seconds=5),
            metrics_seen_at=NOW - timedelta(seconds=50),
        ),
        DiagnosisKind.UNKNOWN,
        None,
    ),
    (
        "rest down, the metrics scraped since it began, nothing there: rest is down",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            down_since={"rest": NOW - timedelta(seconds=60)},
            mgmt_seen_at=NOW - timedelta(seconds=5),
            metrics_seen_at=NOW - timedelta(seconds=10),
        ),
        DiagnosisKind.SERVICE_DOWN,
        "rest",
    ),
    (
        "rest timing out with the estimate read empty hours ago, neither the API nor the "
        "metrics read since the failure began: not yet the budget",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            outcomes={"rest": Outcome.TIMEOUT},
            down_since={"rest": NOW - timedelta(seconds=5)},
            mgmt_seen_at=NOW - timedelta(seconds=20),
            metrics_seen_at=NOW - timedelta(seconds=30),
            budget=budget(0.0, 0.0, throughput=11.0),
        ),
        DiagnosisKind.UNKNOWN,
        None,
    ),
    (
        "rest timing out with the estimate empty, the Management API unreachable and the "
        "status page answering: the provider's outage, not this project's budget",
        sig(
            services={**UP, "rest": ProbeState.DOWN},
            outcomes={"rest": Outcome.TIMEOUT},
            mgmt_reachable=False,
            mgmt_services=None,
            budget=budget(0.0, 0.0, throughput=11.0),
        ),
        DiagnosisKind.PLATFORM_OUTAGE,
        None,
    ),
    ("no signal at all", Signals(ref=REF, now=NOW), DiagnosisKind.UNKNOWN, None),
    (
        "own probes all up, the API says all UNHEALTHY",
        sig(mgmt_services=dict(API_BAD)),
        DiagnosisKind.UNKNOWN,
        None,
    ),
]


@pytest.mark.parametrize(("name", "signals", "kind", "service"), CASES, ids=[c[0] for c in CASES])
def test_diagnosis_table(
    name: str, signals: Signals, kind: DiagnosisKind, service: str | None
) -> None:
    """Each set of signals gets the one expected kind (and the failing service for service_down)."""
    found = diagnose(signals)
    assert (kind, service) == (found.kind, found.service), evidence_lines(found.evidence)


def test_every_kind_is_covered_by_the_table() -> None:
    """The table exercises every diagnosis kind."""
    assert set(DiagnosisKind) == {case[2] for case in CASES}


@pytest.mark.parametrize(("name", "signals", "kind", "service"), CASES, ids=[c[0] for c in CASES])
def test_an_untrusted_email_never_changes_the_kind(
    name: str, signals: Signals, kind: DiagnosisKind, service: str | None
) -> None:
    """Adding an untrusted IO budget email leaves every diagnosis kind as it was."""
    spoofed = email(EmailKind.IO_BUDGET_EXHAUSTED, trusted=False, hours_ago=0.5)
    assert kind == diagnose(replace(signals, emails=(*signals.emails, spoofed))).kind


def test_may26_evidence_names_budget_email_and_green_status() -> None:
    """The May 26 diagnosis cites the empty budget, the trusted email and the green status page."""
    evidence = " | ".join(evidence_lines(diagnose(MAY26).evidence))
    assert ("IO budget 0% left" in evidence, "trusted io_budget_warning email" in evidence) == (
        True,
        True,
    )
    assert "status page green" in evidence


def test_untrusted_email_appears_as_evidence_only() -> None:
    """An untrusted email is cited in the evidence of a healthy diagnosis."""
    found = diagnose(sig(emails=(email(trusted=False),)))
    assert (DiagnosisKind.HEALTHY, True) == (
        found.kind,
        any("untrusted" in e for e in evidence_lines(found.evidence)),
    )


def test_diagnosis_carries_project_time_and_bounded_confidence() -> None:
    """Every diagnosis names the project and time, with a confidence in 0..1."""
    for _, signals, _, _ in CASES:
        found = diagnose(signals)
        assert (REF, NOW, True) == (found.project, found.at, 0.0 <= found.confidence <= 1.0)


def test_service_is_only_set_for_service_down() -> None:
    """Diagnosis.service is None for every kind other than service_down."""
    for _, signals, _, _ in CASES:
        found = diagnose(signals)
        assert (found.kind is DiagnosisKind.SERVICE_DOWN) == (found.service is not None)


def test_rejected_key_is_named_in_the_evidence() -> None:
    """A probe down on 401 says the key is rejected, so nobody hunts for an outage."""
    services = {**UP, "rest": ProbeState.DOWN}
    found = diagnose(sig(services=services, status_codes={"rest": 401}))
    assert (DiagnosisKind.SERVICE_DOWN, True) == (
        found.kind,
        any("key is rejected (HTTP 401)" in e for e in evidence_lines(found.evidence)),
    )


def test_healthy_says_what_answers_and_the_api_trouble_rides_along() -> None:
    """The evidence of a healthy project names what answers, never "no own probes up"; a
    rate-limited API is carried as the lever's trouble, not as the project's."""
    found = diagnose(
        sig(
            services={},
            outcomes={},
            mgmt_lever=ApiTrouble(ApiFault.RATE_LIMITED),
        )
    )
    assert DiagnosisKind.HEALTHY == found.kind
    assert "db, rest, auth healthy (management API)" == fact_line(found.evidence[0])
    assert ApiTrouble(ApiFault.RATE_LIMITED) == found.lever


def test_services_not_even_reached_are_not_the_budget() -> None:
    """Every own probe refused or unreachable (our network lost, before the Management API and
    the status page are asked again) while the stale estimate reads empty and flat at the
    baseline: a throttled budget answers, only slowly, so this is not the budget; the same
    with timeouts is."""
    unreached = replace(
        MAY26,
        outcomes=dict(REFUSED),
        status_codes={},
        mgmt_services=None,
        mgmt_reachable=None,
        status_reachable=None,
    )
    assert DiagnosisKind.IO_BUDGET_EXHAUSTED is not diagnose(unreached).kind
    timed_out = replace(unreached, outcomes=dict(TIMEOUTS))
    assert DiagnosisKind.IO_BUDGET_EXHAUSTED is diagnose(timed_out).kind


def _queue(diagnosis_signals: Signals) -> list[str]:
    """The queue-building facts of the diagnosis of these signals, as a person reads them."""
    found = diagnose(diagnosis_signals)
    return [fact_line(f) for f in found.evidence if f.kind is FactKind.THROTTLED_SLOW]


def test_rest_answering_late_at_the_estimates_zero_is_the_throttle_seen() -> None:
    """REST a second late or more once the estimate reaches zero: the disks' queue, seen before
    a scrape shows the load held back; the escalation policy takes it as the budget spent."""
    empty = budget(0.005, 0.0, throughput=18.0)
    late = sig(budget=empty, answered_s={"rest": 2.4})
    assert _queue(late) == [
        "rest answered in 2.4s as the IO budget ran out: the disks' queue building"
    ]
    assert throttle_seen(diagnose(late))
    # The estimate's zero due within a scrape's drift counts; an hour away, it does not.
    soon = replace(late, budget=replace(empty, ratio=0.02, eta_now_s=240.0))
    assert _queue(soon)
    far = replace(late, budget=replace(empty, ratio=0.3, eta_now_s=3600.0))
    assert not _queue(far)


def test_rest_fast_at_the_estimates_zero_is_no_throttle() -> None:
    """At the published zero a project whose true limits carry the load answers as before."""
    fast = sig(budget=budget(0.005, 0.0, throughput=18.0), answered_s={"rest": 0.04})
    assert _queue(fast) == []
    assert not throttle_seen(diagnose(fast))
    unknown = sig(budget=budget(0.005, 0.0, throughput=18.0))  # REST's last run failed
    assert _queue(unknown) == []


def test_an_overdrawn_estimate_with_rest_turning_late_is_the_true_budget_run_out() -> None:
    """Overdrawn (the disks served above the published baseline after its zero), REST now late:
    the true budget ran out since."""
    overdrawn = replace(budget(0.0, None, throughput=18.0), overdrawn=True)
    late = sig(budget=overdrawn, answered_s={"rest": 1.6})
    assert _queue(late)
    assert throttle_seen(diagnose(late))


def test_a_status_page_read_before_the_failures_began_says_nothing_of_the_outside_now() -> None:
    """Everything failing at once, the Management API unreachable: the status page answering
    since then means the outside is reachable (the platform); its last answer from before the
    failures says nothing of our own network now: not yet told apart, no outage paged."""
    began = NOW - timedelta(minutes=2)
    down_since = dict.fromkeys(DOWN, began)
    fresh = replace(PLATFORM_DOWN, down_since=down_since, status_seen_at=NOW)
    assert diagnose(fresh).kind is DiagnosisKind.PLATFORM_OUTAGE
    stale = replace(fresh, status_seen_at=began - timedelta(minutes=3))
    found = diagnose(stale)
    assert found.kind is DiagnosisKind.UNKNOWN
    assert (
        "nothing outside read since the failures began to tell our network from the provider's"
        in evidence_lines(found.evidence)
    )


def test_a_failure_from_before_the_network_came_back_waits_for_its_next_run() -> None:
    """Our own network back: REST answered a moment ago, auth's last run (during the outage)
    got no answer. That failure is not news of auth: its next run tells. One that failed
    after REST was answered is auth's own."""
    back = sig(
        services={**UP, "auth": ProbeState.DOWN},
        outcomes={"db": Outcome.OK, "rest": Outcome.OK, "auth": Outcome.ERROR},
        down_since={"auth": NOW - timedelta(minutes=30)},
        probed_at={"db": NOW, "rest": NOW, "auth": NOW - timedelta(seconds=40)},
    )
    found = diagnose(back)
    assert found.kind is DiagnosisKind.UNKNOWN
    assert found.waiting == ("auth",)
    assert any("waiting for their next run" in line for line in evidence_lines(found.evidence))
    since = replace(back, probed_at={**back.probed_at, "auth": NOW + timedelta(seconds=1)})
    assert diagnose(since).kind is DiagnosisKind.SERVICE_DOWN
