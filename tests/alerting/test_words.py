"""alerting/words/: every reason the policy can give and every fact of a diagnosis is said, and
the command is built once."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from sbwatch.alerting.phone import Target
from sbwatch.alerting.words import (
    NEED_NAMES,
    bound_text,
    decision_reason,
    disk_reason,
    fact_line,
    lever_body,
    lever_lines,
    lever_text,
    limits_words,
    need_reading,
    passed_on,
    reach_line,
    recovered_note,
)
from sbwatch.core.connections import DIRECT, POOLER, REST
from sbwatch.core.facts import Fact, FactKind, recorded
from sbwatch.core.results import (
    Alert,
    ApiFault,
    ApiTrouble,
    DiagnosisKind,
    EmailKind,
    EscalationMode,
    Intent,
    IntentState,
    Severity,
)
from sbwatch.core.tiers import Tier
from sbwatch.policy.disk import DiskDecision, DiskReason, DiskWhy
from sbwatch.policy.escalation import (
    Bound,
    EscalationDecision,
    Limit,
    Reach,
    Reason,
    Why,
)
from sbwatch.policy.needs import (
    ConnectionsReading,
    IoReading,
    MemoryReading,
    NeedLimit,
    PoolReading,
    Reading,
)

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
COMMAND = f"sbwatch escalate {REF} --to small"
SRC = Path(__file__).resolve().parents[2] / "src" / "sbwatch"

BOUNDS = {
    Limit.MAX_TIER: Bound(Limit.MAX_TIER, Tier.SMALL, max_tier=Tier.SMALL),
    Limit.COST_CAP: Bound(Limit.COST_CAP, Tier.MEDIUM, cost_usd=60.0, cap_usd=20.0),
    Limit.MAX_STEPS: Bound(Limit.MAX_STEPS, Tier.LARGE, steps=3, max_steps=1),
    Limit.ABOVE_MAX_TIER: Bound(Limit.ABOVE_MAX_TIER, Tier.XL, max_tier=Tier.SMALL),
    Limit.MODE: Bound(Limit.MODE, Tier.SMALL, mode=EscalationMode.ASK),
}
"""One bound of each kind, with figures."""

INTENT = Intent(7, REF, Tier.MICRO, Tier.SMALL, "r", "daemon", NOW, IntentState.OPEN, NOW)
LOW = DiagnosisKind.IO_BUDGET_LOW
REASONS = {
    Why.RAISE: Reason(Why.RAISE, LOW),
    Why.ASK: Reason(Why.ASK, LOW),
    Why.LEAK: Reason(Why.LEAK, DiagnosisKind.MEMORY_EXHAUSTED),
    Why.AHEAD: Reason(Why.AHEAD, DiagnosisKind.CPU_EXHAUSTED),
    Why.OFF: Reason(Why.OFF, LOW),
    Why.MAINTENANCE: Reason(Why.MAINTENANCE, LOW, until=NOW, window="db migration"),
    Why.UNFINISHED: Reason(Why.UNFINISHED, intent=INTENT),
    Why.COOLDOWN: Reason(Why.COOLDOWN, left_s=600.0),
    Why.REFUSED: Reason(Why.REFUSED, left_s=120.0),
    Why.NOT_FIXABLE: Reason(Why.NOT_FIXABLE, DiagnosisKind.PLATFORM_OUTAGE),
    Why.REFILLING: Reason(Why.REFILLING, LOW, ratio=0.4),
    Why.NO_ESTIMATE: Reason(Why.NO_ESTIMATE, LOW),
    Why.LOAD_UNKNOWN: Reason(Why.LOAD_UNKNOWN, LOW, ratio=0.005),
    Why.NOT_DRAINING: Reason(Why.NOT_DRAINING, LOW, ratio=0.4),
    Why.NOT_DUE: Reason(Why.NOT_DUE, LOW, ratio=0.4, eta_s=7200.0, lead_s=720.0),
    Why.CONFIRMING: Reason(Why.CONFIRMING, LOW, ratio=0.05, eta_s=240.0),
    Why.SLOWED: Reason(Why.SLOWED, LOW, ratio=0.0, load_over=1.2),
    Why.SEE_FIRST: Reason(Why.SEE_FIRST, LOW, ratio=0.05, eta_s=900.0, load_over=1.4),
    Why.NOT_SPENT: Reason(Why.NOT_SPENT, LOW, ratio=0.0),
    Why.BOUND: Reason(Why.BOUND, LOW, bound=BOUNDS[Limit.COST_CAP]),
}
"""One reason of each kind, with figures."""

PROPOSING = {Why.RAISE, Why.ASK, Why.LEAK, Why.AHEAD, Why.OFF, Why.MAINTENANCE}
COMMANDED = {Why.ASK, Why.LEAK, Why.AHEAD}
"""The reasons that come with a size, and those of them a person is given the command for."""


def decision(reason: Reason) -> EscalationDecision:
    """The decision a reason belongs to: with a size for the reasons that propose one."""
    if reason.why not in PROPOSING:
        return EscalationDecision("none", None, reason)
    action = {Why.RAISE: "escalate", Why.OFF: "none", Why.MAINTENANCE: "none"}.get(reason.why)
    return EscalationDecision(action or "ask", Tier.SMALL, reason, 5.0, Tier.MICRO)  # type: ignore[arg-type]  # one of the three actions


def test_every_reason_and_every_bound_has_a_sample() -> None:
    """The samples below cover each closed set: a new reason must be said too."""
    assert (set(Why), set(Limit), set(DiskWhy)) == (set(REASONS), set(BOUNDS), set(DISK))


@pytest.mark.parametrize("why", list(Why))
def test_every_escalation_reason_is_said(why: Why) -> None:
    """Each reason renders as one non-empty line; the command where one is promised."""
    said = decision_reason(decision(REASONS[why]), REF)
    assert said.strip()
    assert "\n" not in said
    assert (why in COMMANDED) == (COMMAND in said), said
    if why in PROPOSING:
        assert "raise micro -> small (+$5.00/month)" in said


@pytest.mark.parametrize("limit", list(Limit))
def test_every_bound_is_said_and_reach_gives_the_command(limit: Limit) -> None:
    """Each bound renders with its figures; beyond reach, the command to the next size."""
    bound = BOUNDS[limit]
    assert bound_text(bound).strip()
    line = reach_line(Reach(bound, Tier.SMALL, 7200.0), REF)
    assert line.endswith(f"Run: {COMMAND}")
    assert reach_line(Reach(bound, None, 7200.0), REF).startswith("sbwatch cannot raise it: ")


DISK = {
    DiskWhy.GROW: DiskReason(DiskWhy.GROW),
    DiskWhy.ASK: DiskReason(DiskWhy.ASK),
    DiskWhy.OFF: DiskReason(DiskWhy.OFF),
    DiskWhy.SIZE_UNKNOWN: DiskReason(DiskWhy.SIZE_UNKNOWN),
    DiskWhy.NOT_AHEAD: DiskReason(DiskWhy.NOT_AHEAD),
    DiskWhy.UNDER_WAY: DiskReason(DiskWhy.UNDER_WAY),
    DiskWhy.QUOTA_SPENT: DiskReason(DiskWhy.QUOTA_SPENT, frees_at=NOW),
    DiskWhy.SPEND_CAP: DiskReason(DiskWhy.SPEND_CAP),
    DiskWhy.FAILED: DiskReason(DiskWhy.FAILED, left_s=300.0),
    DiskWhy.COOLDOWN: DiskReason(DiskWhy.COOLDOWN, left_s=300.0),
    DiskWhy.MAX_GB: DiskReason(DiskWhy.MAX_GB, max_gb=40),
    DiskWhy.COST_CAP: DiskReason(DiskWhy.COST_CAP, cap_usd=25.0, compute_usd=10.0),
}
"""One disk reason of each kind, with figures."""


@pytest.mark.parametrize("why", list(DiskWhy))
def test_every_disk_reason_is_said(why: DiskWhy) -> None:
    """Each disk reason renders as one non-empty line; ask mode gives the command."""
    sized = why in {DiskWhy.GROW, DiskWhy.ASK, DiskWhy.OFF}
    action = {DiskWhy.GROW: "grow", DiskWhy.ASK: "ask"}.get(why, "none")
    chosen = DiskDecision(action, 48 if sized else None, DISK[why], 2.5, 40)  # type: ignore[arg-type]  # one of the three actions
    said = disk_reason(chosen)
    assert said.strip()
    assert "\n" not in said
    lines = lever_lines(chosen, REF)
    assert (why is DiskWhy.ASK) == (f"Run: sbwatch escalate {REF} --disk-gb 48" in lines)


def _code_strings(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings (a string standing alone as a
    statement; comments are not parsed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_only_the_words_build_the_escalate_command() -> None:
    """``sbwatch escalate`` is written in code once, in alerting/words/sizes.py (docstrings and
    comments may name it; the simulator's scorecard looks for it in what was sent)."""
    builders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if any("sbwatch escalate" in text for text in _code_strings(path))
    )
    assert ["alerting/words/sizes.py", "sim/score.py"] == builders


HELD = Fact(FactKind.THROUGHPUT_HELD, rate=11.2, tier=Tier.MICRO, baseline=11.0)
DOWN = (Fact(FactKind.PROBE_DOWN, service="db"), Fact(FactKind.PG_DOWN))
F = FactKind
FACTS = {
    F.KEY_REJECTED: Fact(F.KEY_REJECTED, service="rest", code=401),
    F.PROBE_DOWN: DOWN[0],
    F.ORIGIN_TIMEOUT: Fact(F.ORIGIN_TIMEOUT, service="rest", code=522),
    F.API_UNHEALTHY: Fact(F.API_UNHEALTHY, service="auth"),
    F.PG_DOWN: DOWN[1],
    F.FAILING: Fact(F.FAILING, facts=DOWN),
    F.ANSWERING: Fact(F.ANSWERING, services=("db", "rest")),
    F.API_HEALTHY: Fact(F.API_HEALTHY, services=("auth",)),
    F.API_DISAGREES: Fact(F.API_DISAGREES, services=("db", "rest", "auth")),
    F.INCOMPLETE: Fact(F.INCOMPLETE),
    F.NO_SIGNALS: Fact(F.NO_SIGNALS),
    F.TRANSPORT_FAILED: Fact(F.TRANSPORT_FAILED),
    F.API_UNREACHABLE: Fact(F.API_UNREACHABLE),
    F.STATUS_UNREACHABLE: Fact(F.STATUS_UNREACHABLE),
    F.OTHERS_REACHABLE: Fact(F.OTHERS_REACHABLE),
    F.NO_OUTSIDE: Fact(F.NO_OUTSIDE),
    F.WAITING_FOR_API: Fact(F.WAITING_FOR_API),
    F.FAILED_BEFORE: Fact(F.FAILED_BEFORE, services=("auth",)),
    F.PROJECT_STATUS: Fact(F.PROJECT_STATUS, status="INACTIVE"),
    F.QUOTA_REFUSED: Fact(F.QUOTA_REFUSED, services=("auth", "rest")),
    F.DISK_USED: Fact(F.DISK_USED, ratio=0.96, full=True),
    F.WRITES_REFUSED: Fact(F.WRITES_REFUSED),
    F.BUDGET_EMPTY: Fact(F.BUDGET_EMPTY, ratio=0.01, confidence=0.8),
    F.THROUGHPUT_HELD: HELD,
    F.IOPS_HELD: Fact(F.IOPS_HELD, rate=498.0, tier=Tier.MICRO, baseline=500.0),
    F.THROTTLED_IOWAIT: Fact(F.THROTTLED_IOWAIT, ratio=0.4, facts=(HELD,)),
    F.THROTTLED_LOW: Fact(F.THROTTLED_LOW, ratio=0.1, facts=(HELD,)),
    F.THROTTLED_SLOW: Fact(F.THROTTLED_SLOW, service="rest", seconds=2.4, ratio=0.0),
    F.BUDGET_RUNS_OUT: Fact(F.BUDGET_RUNS_OUT, seconds=7200.0),
    F.BUDGET_LEFT: Fact(F.BUDGET_LEFT, ratio=0.15),
    F.EMAIL: Fact(F.EMAIL, email=EmailKind.IO_BUDGET_WARNING, reason="dkim fails", at=NOW),
    F.TRUSTED_EMAIL: Fact(F.TRUSTED_EMAIL, email=EmailKind.IO_BUDGET_WARNING, sender="a@b.c"),
    F.STATUS_GREEN: Fact(F.STATUS_GREEN),
    F.STATUS_INDICATOR: Fact(F.STATUS_INDICATOR, status="minor"),
    F.STATUS_BAD: Fact(F.STATUS_BAD, status="major", components=(("auth", "major_outage"),)),
    F.POOL: Fact(F.POOL, pool=REST, used=10, limit=10, ratio=1.0, full=True, waiting=4),
    F.POOL_REFUSED: Fact(F.POOL_REFUSED, pool=POOLER),
    F.REST_ANSWERS: Fact(F.REST_ANSWERS),
    F.OOM: Fact(F.OOM, since=NOW, at=NOW),
    F.RAM_HELD: Fact(F.RAM_HELD, ratio=0.85, seconds=1200.0, above=0.75),
    F.SWAP_HIGH: Fact(F.SWAP_HIGH, ratio=0.8, above=0.7),
    F.SWAPPING: Fact(F.SWAPPING, rate=4.1, ratio=0.4, seconds=10_800.0),
    F.LEAK: Fact(F.LEAK, seconds=15_900.0, swap_s=3000.0),
    F.RAM_USED: Fact(F.RAM_USED, ratio=0.97),
    F.MEMORY_HOLDS: Fact(
        F.MEMORY_HOLDS, holds=Tier.SMALL, tier=Tier.MICRO, size_bytes=0.8 * 1024**3, above=0.75
    ),
    F.CPU_HELD: Fact(F.CPU_HELD, ratio=0.95, seconds=1200.0, above=0.9),
    F.CPU_BUSY: Fact(F.CPU_BUSY, ratio=0.93),
    F.CPU_HOLDS: Fact(F.CPU_HOLDS, holds=Tier.XL, tier=Tier.MICRO),
    F.RECORDED: recorded("IO budget 0% left"),
}
"""One fact of each kind, with figures."""


def test_every_fact_kind_has_a_sample() -> None:
    """The samples cover the closed set of facts: a new kind must be said too."""
    assert set(FactKind) == set(FACTS)
    assert all(kind is fact.kind for kind, fact in FACTS.items())


@pytest.mark.parametrize("kind", list(FactKind))
def test_every_fact_is_said_in_one_line(kind: FactKind) -> None:
    """Each fact renders as one non-empty line, with no figure left unsaid."""
    said = fact_line(FACTS[kind])
    assert (True, False, False, False) == (
        bool(said.strip()),
        "\n" in said,
        "{" in said,
        "None" in said,
    ), said


def test_a_pools_fact_names_its_limit() -> None:
    """Postgres's pool names max_connections, the size's table its limit, PostgREST's pool the
    requests waiting."""
    direct = Fact(F.POOL, pool=DIRECT, used=57, limit=60, ratio=0.95)
    sized = Fact(F.POOL, pool=POOLER, used=200, limit=200, ratio=1.0, full=True, from_size=True)
    assert [
        "Postgres direct connections 95% used: 57 of 60 (max_connections)",
        "Pooler clients full: 200 of 200 (the size's limit)",
        "PostgREST's pool full: 10 of 10 (its max), 4 requests waiting",
    ] == [fact_line(direct), fact_line(sized), fact_line(FACTS[F.POOL])]


WORDLESS = (
    "policy/diagnosis.py",
    "policy/resources.py",
    "policy/connections.py",
    "policy/needs.py",
    "policy/plan.py",
)
"""The diagnosis and its findings, and the plan with each limit's need: facts and figures
out, no words."""


@pytest.mark.parametrize("module", WORDLESS)
def test_the_diagnosis_policy_writes_no_words(module: str) -> None:
    """No f-string and no string with a space in it outside the docstrings: what the diagnosis
    finds is said in alerting/words/diagnosis.py, what the plan's needs read in
    alerting/words/plan.py."""
    path = SRC / module
    tree = ast.parse(path.read_text(encoding="utf-8"))
    formatted = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    sentences = [text for text in _code_strings(path) if " " in text]
    assert ([], []) == (formatted, sentences)


def test_a_passed_on_critical_names_what_its_cause_took_in() -> None:
    """The page passed on says the alert's body, then the alerts it took in, as it was said."""
    alert = Alert(
        f"{REF}:diagnosis",
        REF,
        Severity.CRITICAL,
        "Supabase platform outage",
        "status page indicator major",
        NOW,
        last_sent_at=NOW,
        part_of=("rest is down", "db is down"),
    )
    later = NOW + timedelta(minutes=30)
    lines = passed_on(alert, Target("shop"), NOW, later).body.splitlines()
    assert ["status page indicator major", "Part of it: rest is down, db is down."] == lines[1:3]


def test_the_alerts_a_recovery_closes_say_the_size() -> None:
    """The open alerts closed unsaid by a recovery are noted with the size it recovered on."""
    assert "closed: recovered on small" == recovered_note(Tier.SMALL)


LEVERS = {
    ApiFault.RATE_LIMITED: (ApiTrouble(ApiFault.RATE_LIMITED), "rate limited (HTTP 429)"),
    ApiFault.SERVER_ERROR: (ApiTrouble(ApiFault.SERVER_ERROR, 503), "failing (HTTP 503)"),
    ApiFault.NO_ANSWER: (ApiTrouble(ApiFault.NO_ANSWER), "failing (no answer in time)"),
    ApiFault.UNREACHABLE: (ApiTrouble(ApiFault.UNREACHABLE), "failing (unreachable)"),
}
"""Each trouble of the Management API and its words."""


@pytest.mark.parametrize("fault", list(ApiFault))
def test_every_trouble_of_the_management_api_is_said(fault: ApiFault) -> None:
    """Each fault is said in its few words, inside the lever's body."""
    trouble, words = LEVERS[fault]
    assert words == lever_text(trouble)
    assert lever_body(trouble).startswith(f"It answers: {words}. sbwatch reads the compute")


def _unsaid(tree: ast.Module) -> set[int]:
    """The nodes of a module that are not said to a person: docstrings, and the notes of the
    actions not sent (``note=...`` or ``note = ...``: why nothing was sent, a log field)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            out.add(id(node.value))
        notes = (
            [k.value for k in node.keywords if k.arg == "note"]
            if isinstance(node, ast.Call)
            else []
        )
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "note" for t in node.targets
        ):
            notes.append(node.value)
        out.update(id(sub) for value in notes for sub in ast.walk(value))
    return out


def test_the_alert_policy_writes_no_words() -> None:
    """policy/alerts.py answers with values: no string with a space but a docstring or the
    note of an action not sent (the titles, bodies and lines a phone gets are the words')."""
    tree = ast.parse((SRC / "policy" / "alerts.py").read_text(encoding="utf-8"))
    unsaid = _unsaid(tree)
    said = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and " " in node.value
        and id(node) not in unsaid
    ]
    assert [] == said


MOVED = (
    "Part of it:",
    "more unverified email(s)",
    "closed: recovered on",
    "rate limited (HTTP",
    "failing (HTTP",
    "RESOLVED ",
    "STILL ",
    ": now ",
    "Since ",
    "Lasted ",
    "Dashboard: ",
    "Before: ",
    "acknowledgement link",
    "): no more reminders",
    ": taken by ",
    "invalid route url",
    "route no longer configured",
    "disk IO budget exhausted on",
    "healthy again",
)
"""Words a phone gets that were written outside alerting/words/ once: they stay there."""


@pytest.mark.parametrize("words", MOVED)
def test_the_words_of_a_message_are_written_in_the_words_alone(words: str) -> None:
    """Each phrase is written in code under alerting/words/ only (the commands print their
    own help; none of them says these)."""
    writers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if any(words in text for text in _code_strings(path))
    )
    assert writers
    assert [] == [w for w in writers if not w.startswith("alerting/words/")]


DIRECT_85 = PoolReading(DIRECT, 85.0, Tier.MEDIUM, 120, under=Tier.SMALL, under_allows=90)
POOLER_300 = PoolReading(POOLER, 300.0, Tier.SMALL, 400, under=Tier.MICRO, under_allows=200)
READINGS: list[tuple[Reading, str]] = [
    (IoReading(0.2, stays=True), "stays above 20% of its budget, never throttled"),
    (IoReading(0.35, stays=True), "stays above 35% of its budget, never throttled"),
    (IoReading(0.2, stays=False), "no size stays above 20% of its budget, never throttled"),
    (ConnectionsReading(), "no connections recorded"),
    (
        ConnectionsReading((PoolReading(DIRECT, 30.0, Tier.MICRO, 60),)),
        "peak 30 direct connections: micro allows 60",
    ),
    (
        ConnectionsReading(
            (PoolReading(DIRECT, 70.0, Tier.SMALL, 90, under=Tier.MICRO, under_allows=60),)
        ),
        "peak 70 direct connections: small allows 90 (micro's 60 is fewer)",
    ),
    (
        ConnectionsReading((DIRECT_85,)),
        "peak 85 direct connections: medium allows 120 (small's 90 would leave less than a "
        "fifth free)",
    ),
    (
        ConnectionsReading((PoolReading(DIRECT, 500.0, Tier.XL8, 490, holds=False),)),
        "peak 500 direct connections: no size keeps a fifth of its limit free (8xl allows 490)",
    ),
    (
        ConnectionsReading((PoolReading(POOLER, 7000.0, Tier.XL8, 6000, holds=False),)),
        "peak 7000 pooler clients: no size keeps a fifth of its limit free (8xl allows 6000)",
    ),
    (
        ConnectionsReading((DIRECT_85, POOLER_300)),
        "peak 85 direct connections: medium allows 120 (small's 90 would leave less than a "
        "fifth free); peak 300 pooler clients: small allows 400 (micro's 200 is fewer)",
    ),
    (MemoryReading(timedelta(minutes=15)), "no memory recorded long enough"),
    (
        MemoryReading(timedelta(hours=2), 1.2, Tier.SMALL, 2.0),
        "1.2 GB in use (RAM and swap) held for 2h: small's 2 GB holds 1.5 GB under 75%",
    ),
    (
        MemoryReading(timedelta(minutes=15), 0.3, Tier.MICRO, 1.0),
        "0.3 GB in use (RAM and swap) held for 15m: micro's 1 GB holds 0.75 GB under 75%",
    ),
    (
        MemoryReading(timedelta(minutes=15), 900.0),
        "900.0 GB in use (RAM and swap) held for 15m: no size holds it under 75%",
    ),
]
"""Each shape of a need's reading, in each of its forms, and its words."""


def test_every_reading_shape_has_a_sample() -> None:
    """The samples below cover each reading a need can rest on: a new one must be said too."""
    assert set(get_args(Reading)) == {type(reading) for reading, _ in READINGS}


@pytest.mark.parametrize(("reading", "words"), READINGS)
def test_every_reading_of_a_need_is_said(reading: Reading, words: str) -> None:
    """Each reading's figures are said as ``sbwatch plan`` prints them."""
    assert words == need_reading(reading)


def test_every_limit_the_plan_weighs_is_named() -> None:
    """Each limit has its name, and the limits are joined as a sentence says them."""
    assert set(NeedLimit) == set(NEED_NAMES)
    assert [
        "disk IO",
        "disk IO and memory",
        "disk IO, connections and memory",
    ] == [
        limits_words([NeedLimit.DISK_IO]),
        limits_words([NeedLimit.DISK_IO, NeedLimit.MEMORY]),
        limits_words(list(NeedLimit)),
    ]
