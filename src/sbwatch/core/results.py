"""Frozen values and closed enumerations shared by every part of sbwatch."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sbwatch.core.connections import ConnReading
from sbwatch.core.readings import MgmtHealth, Reading, StatusPage
from sbwatch.core.tiers import Tier

if TYPE_CHECKING:  # core.facts reads EmailKind from here
    from sbwatch.core.facts import Fact


def plain(value: Any) -> dict[str, Any]:
    """A dataclass of plain fields as a dict, each field under its own name, in order
    (``asdict`` without its deep copies): the stored form of a flat value."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


class Outcome(StrEnum):
    """How one probe run went."""

    OK = "ok"
    FAIL = "fail"  # the target answered, wrongly (4xx/5xx, UNHEALTHY, bad payload)
    TIMEOUT = "timeout"  # no answer in time (connect or read), 522/544 included
    ERROR = "error"  # we could not even ask (refused, DNS, TLS, a bug in a probe)


class ProbeKind(StrEnum):
    """Every probe sbwatch knows; ``sbwatch.core.probe_specs`` maps each to its module."""

    DB = "db"
    REST = "rest"
    AUTH = "auth"
    MGMT_HEALTH = "mgmt_health"
    METRICS = "metrics"
    STATUS_PAGE = "status_page"
    DATA = "data"


class DataCheckKind(StrEnum):
    """What a data check asserts about a table."""

    NOT_EMPTY = "not_empty"  # the table has rows (and was not emptied between two runs)
    FRESH = "fresh"  # the newest timestamp of a column is recent enough
    SUM = "sum"  # a column summed over a time window stays within thresholds
    QUERY = "query"  # a read-only SQL returning one number stays within thresholds


class Verdict(StrEnum):
    """How one data check went."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    ERROR = "error"  # it could not be judged: a missing table or index, a timeout, not a number


class ProbeState(StrEnum):
    """A (project, probe) state after failure/success thresholds."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


class DiagnosisKind(StrEnum):
    """The closed set of answers diagnosis can give."""

    HEALTHY = "healthy"
    IO_BUDGET_LOW = "io_budget_low"
    IO_BUDGET_EXHAUSTED = "io_budget_exhausted"
    CPU_EXHAUSTED = "cpu_exhausted"
    MEMORY_EXHAUSTED = "memory_exhausted"
    DISK_FULL = "disk_full"
    CONNECTIONS_EXHAUSTED = "connections_exhausted"
    """A connection pool is full: new connections are refused."""
    PLATFORM_OUTAGE = "platform_outage"
    LOCAL_NETWORK = "local_network"
    SERVICE_DOWN = "service_down"
    PROJECT_PAUSED = "project_paused"
    QUOTA_RESTRICTED = "quota_restricted"
    RESIZING = "resizing"
    """A compute change under way (sbwatch's or one made outside): services restart."""
    UNKNOWN = "unknown"


class Severity(StrEnum):
    """How urgently a person must look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class EmailKind(StrEnum):
    """What a provider email is about."""

    IO_BUDGET_WARNING = "io_budget_warning"
    IO_BUDGET_EXHAUSTED = "io_budget_exhausted"
    DISK_SPACE = "disk_space"
    CPU = "cpu"
    MEMORY = "memory"
    READ_ONLY = "read_only"
    OTHER = "other"


class EscalationMode(StrEnum):
    """What sbwatch may do about the compute size by itself."""

    OFF = "off"
    ASK = "ask"
    AUTO = "auto"


NOT_APPLIED = "not applied; safe to retry"
"""The detail of an intent found not applied after a 429, a 5xx or a lost answer: the change
may be proposed again (a new intent, a new PATCH)."""


class IntentState(StrEnum):
    """Life of one journalled compute change."""

    OPEN = "open"  # written before the PATCH; outcome unknown
    APPLIED = "applied"  # the provider accepted it (or reconciliation found it applied)
    FAILED = "failed"  # the provider refused it; nothing changed
    RECOVERED = "recovered"  # applied and the services came back healthy
    UNRECOVERED = "unrecovered"  # applied but the services did not recover in time


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe run: what was asked, how it went, and what was seen."""

    project: str
    probe: ProbeKind
    outcome: Outcome
    at: datetime
    duration_s: float
    detail: str = ""
    status_code: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Probe-specific observations as JSON, as stored; read them typed from ``reading``."""
    sample: IoSample | None = None
    """The disk, CPU and memory readings of a metrics scrape (kept in the store on its own)."""
    skipped_lines: int = 0
    """Lines of the answer that could not be read and were left out."""
    retry_after_s: float | None = None
    """Set when the API refused the call for its rate limit: when it may be asked again."""
    checks: tuple[DataCheckResult, ...] = ()
    """The data probe's checks, one result each, in configuration order."""
    host: HostSample | None = None
    """The memory, swap and CPU readings of a metrics scrape (kept in memory, not stored)."""

    @property
    def reading(self) -> Reading | None:
        """``data`` read as the typed reading of its probe (None for a probe without one, or
        when it read nothing)."""
        kind = _READINGS.get(self.probe)
        return None if kind is None else kind.from_doc(self.data)

    @property
    def ok(self) -> bool:
        """Whether the outcome is ``ok``."""
        return self.outcome is Outcome.OK


_READINGS: dict[ProbeKind, type[MgmtHealth] | type[StatusPage]] = {
    ProbeKind.MGMT_HEALTH: MgmtHealth,
    ProbeKind.STATUS_PAGE: StatusPage,
}
"""The probes whose ``data`` is a typed reading, and its type."""


@dataclass(frozen=True, slots=True)
class DataCheckResult:
    """One data check of one run: the number it read and the verdict on it."""

    name: str
    kind: DataCheckKind
    table: str
    verdict: Verdict
    value: float | None = None
    """Rows (estimate) for not_empty, age in seconds for fresh, the sum, the query's number."""
    detail: str = ""
    empty_since: datetime | None = None
    """not_empty: when a run first read the table empty (None while it has rows)."""

    @property
    def ok(self) -> bool:
        """Whether the verdict is ``ok``."""
        return self.verdict is Verdict.OK


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    """The thresholded state of one (project, probe) with its counters."""

    project: str
    probe: ProbeKind
    state: ProbeState
    consecutive_ok: int
    consecutive_fail: int
    changed_at: datetime | None
    last: ProbeResult | None
    failing_since: datetime | None = None
    """When the current run of failures began (the first failed result); None while ok."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A (project, probe) state change."""

    project: str
    probe: ProbeKind
    previous: ProbeState
    current: ProbeState
    at: datetime


@dataclass(frozen=True, slots=True)
class IoSample:
    """One scrape of the project's metrics endpoint: cumulative counters and gauges."""

    at: datetime
    read_bytes_total: float
    written_bytes_total: float
    reads_completed_total: float
    writes_completed_total: float
    iowait_seconds_total: float | None = None
    cpu_seconds_total: float | None = None  # all modes, all CPUs
    idle_seconds_total: float | None = None
    mem_available_bytes: float | None = None
    mem_total_bytes: float | None = None
    fs_avail_bytes: float | None = None
    fs_size_bytes: float | None = None
    pg_up: float | None = None
    connections: ConnReading | None = None
    """The connections of Postgres, PostgREST's pool and the pooler (the store keeps the direct
    and pooler connections in use, for the plan; the rest is kept in memory)."""
    auth_refused: tuple[tuple[str, float], ...] | None = None
    """GoTrue's 429 counters by route, sorted (not kept in the store); None: no GoTrue series."""
    swap_used_bytes: float | None = None
    """Swap in use (``SwapTotal - SwapFree``); None when the scrape shows no swap figures."""


@dataclass(frozen=True, slots=True)
class HostSample:
    """One scrape's memory, swap and CPU readings: gauges and cumulative counters."""

    at: datetime
    mem_total_bytes: float | None = None
    mem_available_bytes: float | None = None
    swap_total_bytes: float | None = None
    swap_free_bytes: float | None = None
    swap_in_pages_total: float | None = None  # node_vmstat_pswpin
    swap_out_pages_total: float | None = None  # node_vmstat_pswpout
    major_faults_total: float | None = None  # node_vmstat_pgmajfault
    oom_kills_total: float | None = None  # node_vmstat_oom_kill
    cpu_seconds_total: float | None = None  # all modes, all CPUs
    cpu_busy_seconds_total: float | None = None  # all modes but idle and iowait
    cpus: int = 0


@dataclass(frozen=True, slots=True)
class BudgetEstimate:
    """The estimated disk IO budget of one project at one time."""

    project: str
    at: datetime
    tier: Tier
    ratio: float  # 1.0 full, 0.0 exhausted
    burn_mbps: float  # smoothed net drain, MB/s (negative while refilling)
    eta_s: float | None  # seconds to exhaustion at the current burn; None when not draining
    confidence: float  # 0..1
    throughput_mbps: float = 0.0
    iops: float = 0.0
    limited_by: str = "throughput"
    """The balance that runs out first: "throughput" (bytes) or "iops" (operations)."""
    basis: str = "current"
    """What ``eta_s`` assumes: "pattern" (the week's learned hours), "burst" (a load well
    above the hour's usual, assumed to go on) or "current" (no pattern learned yet)."""
    eta_now_s: float | None = None
    """Time to run out at the current rate, beside the pattern's figure."""
    refills: bool = False
    """At the learned pattern the budget earns back every day what it spends: not at risk."""
    overdrawn: bool = False
    """The estimate ran out, yet the disks serve above the size's baseline without waiting:
    this project's limits are higher than the published ones (minimums) and its budget is
    not spent; the level is unknown until throughput is held at a baseline."""
    assumed: bool = False
    """The level was never read: no figure in the configuration, no ``sbwatch budget set``,
    no resize since sbwatch began (a new size starts full), and not enough IO since to fill
    or empty it for sure. The estimate starts full and counts what it sees, so it reads the
    most the level can be."""
    load_known: bool = True
    """A load has been measured (two scrapes apart, no gap between them): before that the
    burn reads 0, which says nothing about whether the budget drains or refills; after a
    scrape gap it reads the gap's average, which says nothing of the load now."""
    drain_s: float | None = None
    """How long the load has been above the size's baseline (None: it is not)."""
    flat: bool = False
    """The load holds one level: its scrapes stray from the smoothed rate by no more than a
    scrape's wobble."""
    load_over: float = 0.0
    """The smoothed load as a multiple of the size's baseline, on the balance it strains more
    (bytes or IO operations): 1.5 asks half again what the size sustains once its budget is
    spent (0 before a load is measured)."""
    span_s: float = 0.0
    """The seconds the last reading's throughput covers (one scrape to the next; 0: none)."""


class ApiFault(StrEnum):
    """What ails the Management API once its probe is down: the lever sbwatch acts through."""

    RATE_LIMITED = "rate_limited"
    """It answers HTTP 429 (a Retry-After)."""
    SERVER_ERROR = "server_error"
    """It answers a server error (HTTP ``code``, 5xx)."""
    NO_ANSWER = "no_answer"
    """It does not answer in time."""
    UNREACHABLE = "unreachable"
    """It cannot be reached."""


@dataclass(frozen=True, slots=True)
class ApiTrouble:
    """The Management API's own trouble, with the HTTP code of a server error."""

    fault: ApiFault
    code: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderEmail:
    """A provider email turned into an event."""

    message_id: str
    kind: EmailKind
    project_ref: str | None
    received_at: datetime
    subject: str
    sender: str
    trusted: bool
    trust_reason: str
    project_name: str | None = None
    """The project's name as the email gives it ("Your project NAME is depleting ...")."""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What is wrong with one project, why, and how sure."""

    project: str
    at: datetime
    kind: DiagnosisKind
    confidence: float
    evidence: tuple[Fact, ...] = ()
    """What the kind rests on, as facts (``alerting.words.diagnosis`` says them); a stored
    diagnosis read back holds its lines as they were said (``FactKind.RECORDED``)."""
    service: str | None = None  # for service_down: db, rest or auth
    services: tuple[str, ...] = ()
    """For service_down, every failing service, the longest down first (``service`` is it)."""
    onsets: tuple[tuple[str, datetime], ...] = ()
    """When each failing service began to fail (its first failed probe)."""
    lever: ApiTrouble | None = None
    """What ails the Management API itself (rate limited, failing), when it does: the lever
    sbwatch acts through, not the project."""
    ahead: bool = False
    """Memory or CPU short while the services still answer: a warning of what comes."""
    holds: Tier | None = None
    """For memory or CPU: the smallest size that holds the observed use (the lever)."""
    oom_eta_s: float | None = None
    """For memory ahead: the time to the OOM a steady leak runs to (None: none forecast)."""
    leaking: bool = False
    """For memory: a leak, now or up to the last OOM; a bigger size only puts it off."""
    waiting: tuple[str, ...] = ()
    """Failing services whose cause the next readings will tell (unknown for now): what is
    open about them stays open, and nothing new is said until the cause is known."""
    refused_by: str | None = None
    """For connections exhausted: the pool that refused the db probe ("direct": Postgres,
    "pooler"), when one did."""


@dataclass(frozen=True, slots=True)
class Intent:
    """A journalled compute change."""

    id: int
    project: str
    from_tier: Tier
    to_tier: Tier
    reason: str
    actor: str  # "daemon" or "cli:<user>"
    created_at: datetime
    state: IntentState
    updated_at: datetime
    detail: str = ""
    recovered_s: float | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """An open or closed alert of one project about one subject."""

    key: str  # "<project>:<subject>", the dedupe key
    project: str
    severity: Severity
    title: str
    body: str
    opened_at: datetime
    last_sent_at: datetime | None = None
    closed_at: datetime | None = None
    cause: str = ""
    """What the alert is about, as last sent ("service_down:rest", "platform_outage")."""
    eta_s: float | None = None
    """The forecast (seconds to run out) the person was last told, for IO budget alerts."""
    part_of: tuple[str, ...] = ()
    """The titles of the open alerts this one took in when it last spoke (a cause naming what
    is part of it), said after its body."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One message in the durable outbox."""

    id: int
    alert_key: str
    route: str
    severity: Severity
    title: str
    body: str
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    failed: str | None = None  # permanent failure reason
    good_news: bool = False
    """A resolve or a recovery: sent with the success type, whatever the severity."""
    lease: str | None = None
    """High availability: the lease whose holder sends it (None: the leader's)."""


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence or maintenance window for one project (or ``*``)."""

    id: int
    project: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str = ""


PROVIDER = "_provider"
"""The project key under which provider-wide signals (the status page) are stored."""


class IncidentEventKind(StrEnum):
    """What one line of an incident's timeline is."""

    SIGNAL = "signal"  # the first failure seen, before the message that said it
    EMAIL = "email"  # a provider email, at its received time
    MESSAGE = "message"  # a message the phone got
    DIAGNOSIS = "diagnosis"  # the cause changed
    ACTION = "action"  # a compute change (the daemon's or a person's `sbwatch escalate`)
    RECOVERY = "recovery"  # a change verified: healthy again, or not
    ACK = "ack"  # a person took an open alert (`sbwatch ack` or the message's button)
    CLOSE = "close"  # the incident ended, with its summary


@dataclass(frozen=True, slots=True)
class Incident:
    """One project's stretch of trouble: from its first message to the phone to its resolve."""

    id: int
    project: str
    opened_at: datetime
    cause: str = ""
    """The worst cause it had, in words ("disk IO budget exhausted on micro")."""
    cause_rank: int = 0
    """How bad ``cause`` is: a worse cause replaces it, an equal or lesser one does not."""
    closed_at: datetime | None = None
    summary: str = ""
    """The message that summed it up when it closed."""


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One line of an incident's timeline."""

    incident: int
    at: datetime
    kind: IncidentEventKind
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    """Typed details (tiers, severity, alert subject, received time), JSON-serialisable."""
