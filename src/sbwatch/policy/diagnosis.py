"""Diagnosis: recent signals of one project -> one kind from a closed set, with the facts it
rests on (pure; ``alerting.words.diagnosis`` says them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sbwatch.core.facts import Fact, FactKind
from sbwatch.core.probe_specs import services, throttled_services
from sbwatch.core.results import (
    ApiTrouble,
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    EmailKind,
    Outcome,
    ProbeState,
    ProviderEmail,
)
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.budget import EXHAUSTED_RATIO, IOWAIT_HIGH, refilling
from sbwatch.policy.connections import ConnAssessment, pool_fact
from sbwatch.policy.cpu import CpuState
from sbwatch.policy.memory import MemoryState
from sbwatch.policy.resources import Finding, cpu_finding, memory_finding
from sbwatch.supabase.disk import READ_ONLY_AT
from sbwatch.supabase.edge import KEY_REJECTED_STATUSES, ORIGIN_TIMEOUT_STATUSES

MEM_LOW = 0.05
DISK_FULL = READ_ONLY_AT
"""Above this the provider switches the database to read-only mode."""
FLAT_TOLERANCE = 0.2
"""Throughput down to this fraction under the tier baseline counts as throttled to it."""
ABOVE_TOLERANCE = 0.05
"""...and up to this fraction over it: more is served from the budget, so not throttled."""
JITTER = 0.02
"""Over the baseline by up to this fraction is a scrape's wobble around a held rate; more, with
the estimate not empty and the disks not waiting, is a load served a little above it."""
QUEUE_SIGN_S = 1.0
"""REST taking this long to answer (it answers in tens of milliseconds while the disks keep
up) as the estimate reaches zero: requests wait in the throttled disks' queue."""
QUEUE_ZERO_SLACK_S = 300.0
"""The estimate's zero may come this much later than the true one (a scrape's drift)."""
EMAIL_WINDOW = timedelta(hours=24)
CAUSE_WAIT = timedelta(seconds=90)
"""A service failure is not paged as such, nor as the budget, until the Management API (project
status: paused, resizing; reachable or not) and the metrics (the budget, connections, memory,
CPU) have been read since it began, at most this long: the cause pages first, once."""
PAUSED = frozenset({"INACTIVE", "PAUSING"})
QUOTA_STATUS = 402
"""The provider's answer while the organization's quota restricts every service."""
RESIZING = "RESIZING"
"""The Management API's project status while a compute change is applied."""
BAD_INDICATORS = frozenset({"major", "critical"})
IO_EMAILS = frozenset({EmailKind.IO_BUDGET_WARNING, EmailKind.IO_BUDGET_EXHAUSTED})


@dataclass(frozen=True)
class Signals:
    """Everything diagnosis looks at for one project at one time; built by the app each cycle."""

    ref: str
    now: datetime
    services: dict[str, ProbeState] = field(default_factory=dict)
    """Thresholded state of our own db/rest/auth probes."""
    down_since: dict[str, datetime] = field(default_factory=dict)
    """Since when each of them has been down."""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Last raw outcome of our own db/rest/auth probes (transport failures tell local trouble)."""
    status_codes: dict[str, int] = field(default_factory=dict)
    """Last HTTP status of rest/auth when they answered (522/544 mean an origin timeout)."""
    answered_s: dict[str, float] = field(default_factory=dict)
    """How long our own db/rest/auth probes took, when their last run passed."""
    probed_at: dict[str, datetime] = field(default_factory=dict)
    """When our own db/rest/auth probes last ran."""
    mgmt_services: dict[str, str] | None = None
    project_status: str | None = None
    mgmt_reachable: bool | None = None
    status_indicator: str | None = None
    status_components: dict[str, str] = field(default_factory=dict)
    status_reachable: bool | None = None
    status_seen_at: datetime | None = None
    """When the status page was last read (None: never)."""
    budget: BudgetEstimate | None = None
    iowait_ratio: float | None = None
    cpu_busy_ratio: float | None = None
    mem_available_ratio: float | None = None
    disk_used_ratio: float | None = None
    pg_up: bool | None = None
    read_only: bool = False
    """The database refused a write: ``cannot execute ... in a read-only transaction``."""
    connections: ConnAssessment | None = None
    """How full each connection pool is (the metrics scrape)."""
    refused_pool: str | None = None
    """The pool that refused our db probe's connection for want of room: Postgres
    (``DIRECT``, ``too many connections``) or the pooler (``POOLER``); None when not refused."""
    emails: tuple[ProviderEmail, ...] = ()
    mgmt_seen_at: datetime | None = None
    """When the Management API's probe last ran (None: no such probe)."""
    metrics_seen_at: datetime | None = None
    """When the metrics were last scraped (None: not configured, or not yet)."""
    mgmt_lever: ApiTrouble | None = None
    """What ails the Management API itself, once confirmed (rate limited, failing)."""
    warn_horizon_s: float = 86_400.0
    low_ratio: float = 0.2
    memory: MemoryState | None = None
    """Memory and swap over the last readings (policy.memory)."""
    cpu: CpuState | None = None
    """The CPUs over the last readings (policy.cpu)."""
    tier: Tier | None = None
    """The compute size the project runs on."""
    memory_warn_within_s: float = 86_400.0

    @property
    def connections_refused(self) -> bool:
        """Whether the db probe was refused for want of room (``refused_pool``)."""
        return self.refused_pool is not None


Failing = dict[str, Fact]
Rule = Callable[[Signals, Failing], Diagnosis | None]


def diagnose(signals: Signals) -> Diagnosis:
    """The single best explanation of the project's state, most specific cause first."""
    failing = failing_services(signals)
    rules: tuple[Rule, ...] = (
        _local_network,
        _quota,
        _no_signals,
        _paused,
        _resizing,
        _disk_full,
        _refused_while_rest_answers,
        _memory_drains_io,
        _io_exhausted,
        _connections,
        _memory,
        _cpu,
        _platform,
        _service_down,
        _memory_ahead,
        _cpu_ahead,
        _budget_low,
        _healthy,
    )
    for rule in rules:
        found = rule(signals, failing)
        if found is not None:
            return replace(found, lever=signals.mgmt_lever)
    found = _make(signals, DiagnosisKind.UNKNOWN, 0.3, [Fact(FactKind.INCOMPLETE)])
    return replace(found, lever=signals.mgmt_lever)


def failing_services(s: Signals) -> Failing:
    """Each of db/rest/auth that is failing, with the reason; our own probes outrank the API."""
    failing: Failing = {}
    mgmt = s.mgmt_services or {}
    for name in services():
        state = s.services.get(name, ProbeState.UNKNOWN)
        code = s.status_codes.get(name)
        if state is ProbeState.DOWN and code in KEY_REJECTED_STATUSES:
            failing[name] = Fact(FactKind.KEY_REJECTED, service=name, code=code)
        elif state is ProbeState.DOWN:
            failing[name] = Fact(FactKind.PROBE_DOWN, service=name)
        elif code in ORIGIN_TIMEOUT_STATUSES:
            failing[name] = Fact(FactKind.ORIGIN_TIMEOUT, service=name, code=code)
        elif state is ProbeState.UNKNOWN and mgmt.get(name) == "UNHEALTHY":
            failing[name] = Fact(FactKind.API_UNHEALTHY, service=name)
    if s.pg_up is False and "db" not in failing and s.services.get("db") is not ProbeState.UP:
        failing["db"] = Fact(FactKind.PG_DOWN)
    return failing


def _make(
    s: Signals,
    kind: DiagnosisKind,
    confidence: float,
    evidence: list[Fact],
    service: str | None = None,
) -> Diagnosis:
    return Diagnosis(
        project=s.ref,
        at=s.now,
        kind=kind,
        confidence=round(min(max(confidence, 0.0), 1.0), 3),
        evidence=tuple(evidence),
        service=service,
    )


def _transport_failed(s: Signals) -> bool:
    """Every own probe failed without any answer (refused, DNS, connect timeout)."""
    known = {n: s.outcomes[n] for n in services() if n in s.outcomes}
    if known:
        return all(_unanswered(s, n, o) for n, o in known.items())
    return bool(s.services) and all(st is ProbeState.DOWN for st in s.services.values())


def _local_network(s: Signals, failing: Failing) -> Diagnosis | None:
    if _transport_failed(s) and s.mgmt_reachable is False and s.status_reachable is False:
        evidence = [
            Fact(FactKind.TRANSPORT_FAILED),
            Fact(FactKind.API_UNREACHABLE),
            Fact(FactKind.STATUS_UNREACHABLE),
        ]
        return _make(s, DiagnosisKind.LOCAL_NETWORK, 0.8, evidence)
    return None


def _no_signals(s: Signals, failing: Failing) -> Diagnosis | None:
    own_known = any(st is not ProbeState.UNKNOWN for st in s.services.values())
    if own_known or s.mgmt_services or s.project_status or s.budget or failing:
        return None
    return _make(s, DiagnosisKind.UNKNOWN, 0.2, [Fact(FactKind.NO_SIGNALS)])


def _paused(s: Signals, failing: Failing) -> Diagnosis | None:
    if s.project_status not in PAUSED:
        return None
    evidence = [Fact(FactKind.PROJECT_STATUS, status=s.project_status)]
    return _make(s, DiagnosisKind.PROJECT_PAUSED, 0.95, evidence)


def _quota(s: Signals, failing: Failing) -> Diagnosis | None:
    """HTTP 402: the organization is over its quota (never an outage, never a resize)."""
    said = sorted(name for name, code in s.status_codes.items() if code == QUOTA_STATUS)
    if not said:
        return None
    evidence = [Fact(FactKind.QUOTA_REFUSED, services=tuple(said))]
    return _make(s, DiagnosisKind.QUOTA_RESTRICTED, 0.9, evidence)


def _resizing(s: Signals, failing: Failing) -> Diagnosis | None:
    """A compute change under way: failing probes are the restart, not an outage."""
    if s.project_status != RESIZING:
        return None
    evidence = [Fact(FactKind.PROJECT_STATUS, status=s.project_status), *failing.values()]
    return _make(s, DiagnosisKind.RESIZING, 0.9, evidence)


def _disk_full(s: Signals, failing: Failing) -> Diagnosis | None:
    full = s.disk_used_ratio is not None and s.disk_used_ratio >= DISK_FULL
    if not full and not s.read_only:
        return None
    evidence = []
    if s.disk_used_ratio is not None:
        evidence.append(Fact(FactKind.DISK_USED, ratio=s.disk_used_ratio, full=full))
    if s.read_only:
        evidence.append(Fact(FactKind.WRITES_REFUSED))
    evidence += failing.values()
    return _make(s, DiagnosisKind.DISK_FULL, 0.95 if full and s.read_only else 0.9, evidence)


def _held_at(served: float, baseline: float) -> bool:
    """Whether what is served looks held at a baseline: a throttle never serves above it, so
    a few percent over (a scrape's jitter) is the most; below it, IO sized unlike the
    baseline's reads the bytes lower."""
    return -FLAT_TOLERANCE * baseline <= served - baseline <= ABOVE_TOLERANCE * baseline


def _budget_facts(s: Signals) -> tuple[bool, bool, list[Fact]]:
    """(budget at/near zero, throttled: throughput flat at baseline with iowait high or the
    estimate low, evidence)."""
    b = s.budget
    if b is None or not spec(b.tier).has_burst_budget:
        return False, False, []
    evidence: list[Fact] = []
    size = spec(b.tier)
    baseline, ops = size.baseline_mbps, size.baseline_iops
    # A load well under both baselines is served whole, spent budget or not: nothing held back.
    under = all(
        served < level * (1 - FLAT_TOLERANCE)
        for served, level in ((b.throughput_mbps, baseline), (b.iops, ops))
    )
    empty = b.ratio <= EXHAUSTED_RATIO and not b.overdrawn and not under
    if empty:
        evidence.append(Fact(FactKind.BUDGET_EMPTY, ratio=b.ratio, confidence=b.confidence))
    over = False  # served above the baseline: only a scrape's jitter, if it is held at all
    held: Fact | None = None
    if _held_at(b.throughput_mbps, baseline):
        held = Fact(
            FactKind.THROUGHPUT_HELD, rate=b.throughput_mbps, tier=b.tier, baseline=baseline
        )
        over = b.throughput_mbps > baseline * (1 + JITTER)
    elif _held_at(b.iops, ops):  # the IO operations balance ran dry
        held = Fact(FactKind.IOPS_HELD, rate=b.iops, tier=b.tier, baseline=ops)
        over = b.iops > ops * (1 + JITTER)
    waited = s.iowait_ratio is not None and s.iowait_ratio >= IOWAIT_HIGH
    low = b.ratio <= s.low_ratio and not b.overdrawn  # served above it: not the throttle
    # A load that sits a little above the baseline while the estimate has some left is no
    # throttle: a throttle never serves above it; more than a scrape's wobble over it is
    # believed only when the estimate is empty or the disks wait.
    throttled = held is not None and (waited or empty or (low and not over))
    if held is not None and throttled and waited:
        evidence.append(Fact(FactKind.THROTTLED_IOWAIT, ratio=s.iowait_ratio, facts=(held,)))
    elif held is not None and throttled:
        evidence.append(Fact(FactKind.THROTTLED_LOW, ratio=b.ratio, facts=(held,)))
    return empty, throttled, evidence


def _context(s: Signals) -> list[Fact]:
    """Supporting facts that never decide a kind on their own: emails and the status page."""
    notes = [
        Fact(
            FactKind.EMAIL,
            email=email.kind,
            trusted=email.trusted,
            reason=email.trust_reason,
            at=email.received_at,
        )
        for email in _io_emails(s)
    ]
    if s.status_indicator == "none" and not _status_bad(s):
        notes.append(Fact(FactKind.STATUS_GREEN))
    elif s.status_indicator is not None:
        notes.append(Fact(FactKind.STATUS_INDICATOR, status=s.status_indicator))
    return notes


def _io_exhausted(s: Signals, failing: Failing) -> Diagnosis | None:
    throttled_down = throttled_services() & failing.keys()
    if not throttled_down:
        return None
    if all(s.outcomes.get(name) is Outcome.ERROR for name in throttled_down):
        return None  # not even asked (refused, unreachable): a throttle answers, only slowly
    if s.mgmt_reachable is False and s.status_reachable is True:
        return None  # the provider's own API gone too: no budget of one project does that
    if _cause_pending(s, failing):
        return None  # an estimate read empty hours ago is no news: the fresh readings decide
    empty, throttled, evidence = _budget_facts(s)
    if not (empty or throttled):
        return None
    assert s.budget is not None  # _budget_facts found something, so there is a budget
    confidence = (0.95 if empty and throttled else 0.75) * (0.7 + 0.3 * s.budget.confidence)
    return _make(
        s,
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        confidence,
        [*failing.values(), *evidence, *_context(s)],
    )


def _refused_while_rest_answers(s: Signals, failing: Failing) -> Diagnosis | None:
    """The db probe refused for want of room while REST answers: the database serves, so it
    is neither the IO budget (which slows REST too) nor the platform. Connections, first."""
    rest_up = s.services.get("rest") is ProbeState.UP and "rest" not in failing
    if not (s.connections_refused and rest_up):
        return None
    found = _connections(s, failing)
    if found is None:
        return None
    return replace(found, evidence=(*found.evidence, Fact(FactKind.REST_ANSWERS)))


def _connections(s: Signals, failing: Failing) -> Diagnosis | None:
    """A pool full for a while (or Postgres or the pooler refusing for want of room) while
    services fail: new connections are refused. After the IO budget: slow queries under a
    used-up budget hold connections too, and a bigger size cures that (unless REST answers:
    ``_refused_while_rest_answers``)."""
    if not failing:
        return None
    # A pool at its line in the last reading counts here: the failing services corroborate it.
    pools = s.connections.pools if s.connections is not None else ()
    full = [p for p in pools if p.full or p.full_eta_s == 0]
    if not full and not s.connections_refused:
        return None
    evidence = [*failing.values(), *(pool_fact(p) for p in full)]
    if s.refused_pool is not None:
        evidence.append(Fact(FactKind.POOL_REFUSED, pool=s.refused_pool))
    confidence = 0.95 if full and s.connections_refused else 0.85
    found = _make(s, DiagnosisKind.CONNECTIONS_EXHAUSTED, confidence, evidence)
    return replace(found, refused_by=s.refused_pool)


def _memory_finding(s: Signals, failing: Failing) -> Finding | None:
    return memory_finding(
        s.memory,
        s.tier,
        now=s.now,
        failing=list(failing.values()),
        budget=s.budget,
        warn_within_s=s.memory_warn_within_s,
        available_ratio=s.mem_available_ratio,
        low=MEM_LOW,
    )


def _found(s: Signals, kind: DiagnosisKind, found: Finding | None) -> Diagnosis | None:
    """Memory or the CPUs: their finding, and the IO budget's throttle when REST shows it
    (a leak's diagnosis must not hide the sign a raise for the budget waits for)."""
    if found is None:
        return None
    sign = _queue_building(s)
    evidence = [*found.evidence, *([sign] if sign is not None else [])]
    made = _make(s, kind, found.confidence, evidence)
    return replace(
        made,
        ahead=found.ahead,
        holds=found.holds,
        oom_eta_s=found.oom_eta_s,
        leaking=found.leaking,
    )


def _memory_drains_io(s: Signals, failing: Failing) -> Diagnosis | None:
    """An OOM, or swapping that spends the IO budget: memory is the cause, not the disks."""
    m = s.memory
    if not failing or m is None or not (m.swapping or m.oom_at is not None):
        return None
    return _memory(s, failing)


def _memory(s: Signals, failing: Failing) -> Diagnosis | None:
    if not failing:
        return None
    return _found(s, DiagnosisKind.MEMORY_EXHAUSTED, _memory_finding(s, failing))


def _cpu(s: Signals, failing: Failing) -> Diagnosis | None:
    if not failing:
        return None
    found = cpu_finding(s.cpu, s.tier, failing=list(failing.values()), busy_ratio=s.cpu_busy_ratio)
    return _found(s, DiagnosisKind.CPU_EXHAUSTED, found)


def _memory_ahead(s: Signals, failing: Failing) -> Diagnosis | None:
    """The provider's memory thresholds held, a leak or an OOM, while the services answer."""
    if failing:
        return None
    return _found(s, DiagnosisKind.MEMORY_EXHAUSTED, _memory_finding(s, failing))


def _cpu_ahead(s: Signals, failing: Failing) -> Diagnosis | None:
    if failing:
        return None
    return _found(s, DiagnosisKind.CPU_EXHAUSTED, cpu_finding(s.cpu, s.tier, failing=[]))


def _status_bad(s: Signals) -> bool:
    """The status page reports a configured component down, or a major/critical indicator."""
    bad_component = any(status != "operational" for status in s.status_components.values())
    return bad_component or s.status_indicator in BAD_INDICATORS


def _outside_reached_since(s: Signals) -> bool:
    """The status page answered since the failures began: the outside is reachable now. A
    reading from before them says nothing of our own network now."""
    began = min(s.down_since.values(), default=None)
    seen = s.status_seen_at
    fresh = began is None or (seen is not None and seen >= began)
    return s.status_reachable is True and fresh


def _platform(s: Signals, failing: Failing) -> Diagnosis | None:
    if not failing:
        return None
    evidence = list(failing.values())
    outside_ok = _outside_reached_since(s)
    shared_down = s.mgmt_reachable is False
    if _status_bad(s):
        bad = tuple(sorted((k, v) for k, v in s.status_components.items() if v != "operational"))
        evidence.append(Fact(FactKind.STATUS_BAD, status=s.status_indicator, components=bad))
        if shared_down:
            evidence.append(Fact(FactKind.API_UNREACHABLE))
        return _make(s, DiagnosisKind.PLATFORM_OUTAGE, 0.9 if shared_down else 0.75, evidence)
    if shared_down and outside_ok:
        evidence += [Fact(FactKind.API_UNREACHABLE), Fact(FactKind.OTHERS_REACHABLE)]
        return _make(s, DiagnosisKind.PLATFORM_OUTAGE, 0.7, evidence)
    if shared_down and _transport_failed(s):
        evidence += [Fact(FactKind.API_UNREACHABLE), Fact(FactKind.NO_OUTSIDE)]
        return _make(s, DiagnosisKind.UNKNOWN, 0.4, evidence)
    return None


def _service_down(s: Signals, failing: Failing) -> Diagnosis | None:
    if not failing:
        return None
    before = _failed_before(s, failing)
    if before or _cause_pending(s, failing):
        waiting = tuple(name for name in services() if name in failing)
        why = FactKind.FAILED_BEFORE if before else FactKind.WAITING_FOR_API
        evidence = [*failing.values(), Fact(why, services=waiting if before else ())]
        return replace(_make(s, DiagnosisKind.UNKNOWN, 0.2, evidence), waiting=waiting)
    never = s.now  # a failure without a recorded start sorts after the ones with one
    names = services()
    ordered = sorted(
        (name for name in names if name in failing),
        key=lambda name: (s.down_since.get(name, never), names.index(name)),
    )
    evidence = [*failing.values(), *_context(s)]
    found = _make(s, DiagnosisKind.SERVICE_DOWN, 0.7, evidence, service=ordered[0])
    onsets = tuple((name, s.down_since[name]) for name in ordered if name in s.down_since)
    return replace(found, services=tuple(ordered), onsets=onsets)


def _failed_before(s: Signals, failing: Failing) -> bool:
    """Every failing service's last run got no answer (refused, unreachable), and another of
    our probes has been answered since: the failures are from before our own network came
    back (or the provider's edge), and each one's next run tells what is true now."""
    answered = [
        s.probed_at[n]
        for n, outcome in s.outcomes.items()
        if n in s.probed_at and not _unanswered(s, n, outcome)
    ]
    if not failing or not answered:
        return False
    latest = max(answered)
    return all(
        name in s.probed_at
        and _unanswered(s, name, s.outcomes.get(name))
        and s.probed_at[name] < latest
        for name in failing
    )


def _unanswered(s: Signals, name: str, outcome: Outcome | None) -> bool:
    """A run that got no answer at all (as ``_transport_failed`` reads it)."""
    return outcome is Outcome.ERROR or (outcome is Outcome.TIMEOUT and name not in s.status_codes)


def _cause_pending(s: Signals, failing: Failing) -> bool:
    """The failure began moments ago, after the Management API or the metrics were last read:
    what they say next (paused, resizing, unreachable in an outage; the budget held at its
    baseline, a pool full) may be the cause to page instead."""
    onsets = [s.down_since[n] for n in failing if n in s.down_since]
    if not onsets or s.now - min(onsets) >= CAUSE_WAIT:
        return False
    read = [s.metrics_seen_at]
    if s.mgmt_reachable is not False:  # unreachable: it has said what it will say
        read.append(s.mgmt_seen_at)
    return any(at is not None and min(onsets) > at for at in read)


def _io_emails(s: Signals) -> list[ProviderEmail]:
    since = s.now - EMAIL_WINDOW
    return [
        e
        for e in s.emails
        if e.kind in IO_EMAILS
        and e.project_ref in (None, s.ref)
        and since <= e.received_at <= s.now
    ]


THROTTLE_FACTS = frozenset(
    {FactKind.THROTTLED_IOWAIT, FactKind.THROTTLED_LOW, FactKind.THROTTLED_SLOW}
)
"""The evidence that the disks hold the load at the size's baseline now."""


def throttle_seen(diagnosis: Diagnosis) -> bool:
    """Whether the diagnosis saw the disks holding the load at the size's baseline."""
    return any(fact.kind in THROTTLE_FACTS for fact in diagnosis.evidence)


def _budget_low(s: Signals, failing: Failing) -> Diagnosis | None:
    evidence: list[Fact] = []
    confidence = 0.0
    b = s.budget
    if b is not None and spec(b.tier).has_burst_budget:
        if b.eta_s is not None and b.eta_s <= s.warn_horizon_s:
            evidence.append(Fact(FactKind.BUDGET_RUNS_OUT, seconds=b.eta_s))
        if b.ratio <= s.low_ratio and not refilling(b):  # low and earning back: no risk
            evidence.append(Fact(FactKind.BUDGET_LEFT, ratio=b.ratio))
        if evidence:
            confidence = 0.5 + 0.4 * b.confidence
            _, throttled, facts = _budget_facts(s)
            if throttled:  # held at the baseline before the estimate reads empty
                evidence += [f for f in facts if f.kind in THROTTLE_FACTS]
            elif (queue := _queue_building(s)) is not None:
                evidence.append(queue)
    trusted = [e for e in _io_emails(s) if e.trusted]
    if trusted and not _measured_refilling(b, s.low_ratio):
        newest = trusted[-1]
        evidence.append(Fact(FactKind.TRUSTED_EMAIL, email=newest.kind, sender=newest.sender))
        confidence = max(confidence, 0.6) + 0.05
    if not evidence:
        return None
    return _make(s, DiagnosisKind.IO_BUDGET_LOW, confidence, [*evidence, *_context(s)])


def _queue_building(s: Signals) -> Fact | None:
    """REST slow once the estimate reaches zero: the throttle, seen before a scrape shows it
    (the disks' queue builds for minutes before requests time out). A project whose true
    limits carry the load answers as fast as before at the published zero; when its true
    budget runs out later (the estimate overdrawn meanwhile), REST slows then."""
    b = s.budget
    took = s.answered_s.get("rest")
    if b is None or took is None or took < QUEUE_SIGN_S:
        return None
    since = (s.now - b.at).total_seconds()
    due = b.ratio <= EXHAUSTED_RATIO or (
        b.eta_now_s is not None and b.eta_now_s <= since + QUEUE_ZERO_SLACK_S
    )
    if not due:
        return None
    return Fact(FactKind.THROTTLED_SLOW, service="rest", seconds=took, ratio=b.ratio)


def _measured_refilling(b: BudgetEstimate | None, low_ratio: float) -> bool:
    """sbwatch's own estimate says the budget is well filled and earning back: an email that
    says it is running low is older than the measurement. The email is still relayed
    (watch.announcer) with the estimate beside it; it raises no budget alert of its own."""
    return b is not None and b.ratio > low_ratio and refilling(b)


def _healthy(s: Signals, failing: Failing) -> Diagnosis | None:
    """Every service something reports on is up (a service no probe watches and the API does
    not report on, while it is rate limited, is judged by nothing, not held against it)."""
    mgmt = s.mgmt_services or {}
    names = services()
    own_up = [n for n in names if s.services.get(n) is ProbeState.UP]
    api_ok = [n for n in names if mgmt.get(n) == "ACTIVE_HEALTHY"]
    api_bad = [n for n in names if mgmt.get(n) == "UNHEALTHY"]
    api_named = [n for n in names if n in mgmt]
    if len(own_up) == len(names) and api_named and len(api_bad) == len(api_named):
        # every own probe passes while the provider says every service it reports on is down
        # (a service it does not report on, an added probe's, cannot outvote it)
        return None
    reported = [n for n in names if s.services.get(n, ProbeState.UNKNOWN) is not ProbeState.UNKNOWN]
    reported += [n for n in names if n in mgmt and n not in reported]
    if not reported or not all(n in own_up or n in api_ok for n in reported):
        return None
    evidence = []
    if own_up:
        evidence.append(Fact(FactKind.ANSWERING, services=tuple(own_up)))
    from_api = [n for n in api_ok if n not in own_up]
    if from_api:
        evidence.append(Fact(FactKind.API_HEALTHY, services=tuple(from_api)))
    if api_bad:
        evidence.append(Fact(FactKind.API_DISAGREES, services=tuple(api_bad)))
    if s.mgmt_reachable is False:
        evidence.append(Fact(FactKind.API_UNREACHABLE))
    confidence = 0.9 if len(own_up) == len(names) and not api_bad else 0.6
    return _make(s, DiagnosisKind.HEALTHY, confidence, [*evidence, *_context(s)])
