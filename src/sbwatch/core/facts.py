"""The diagnosis's evidence as closed facts with their figures: policy finds them,
``alerting.words.diagnosis`` says them (the phone, the logs, ``sbwatch status`` and the stored
diagnoses read the same words).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from enum import StrEnum

from sbwatch.core.results import EmailKind
from sbwatch.core.tiers import Tier


class FactKind(StrEnum):
    """One fact the diagnosis rests on; the fields of :class:`Fact` each kind fills are named."""

    # a service failing (the diagnosis's ``failing``)
    KEY_REJECTED = "key_rejected"
    """``service``'s probe is down because the key is refused (HTTP ``code``)."""
    PROBE_DOWN = "probe_down"
    """``service``'s own probe is down."""
    ORIGIN_TIMEOUT = "origin_timeout"
    """``service`` answered ``code`` (522/544): the edge timed out on the origin."""
    API_UNHEALTHY = "api_unhealthy"
    """The Management API reports ``service`` UNHEALTHY."""
    PG_DOWN = "pg_down"
    """The metrics say Postgres is down (pg_up = 0)."""
    FAILING = "failing"
    """The failing services (``facts``) said on one line."""
    # the services answering
    ANSWERING = "answering"
    """``services`` answer their own probes."""
    API_HEALTHY = "api_healthy"
    """The Management API reports ``services`` healthy (no own probe says otherwise)."""
    API_DISAGREES = "api_disagrees"
    """The Management API reports ``services`` UNHEALTHY while every one answers."""
    # what the signals are
    INCOMPLETE = "incomplete"
    """No rule matched: the signals are incomplete or contradict each other."""
    NO_SIGNALS = "no_signals"
    """Nothing has reported yet: no probe, Management API or budget."""
    TRANSPORT_FAILED = "transport_failed"
    """Every own probe failed without an answer."""
    API_UNREACHABLE = "api_unreachable"
    """The Management API does not answer."""
    STATUS_UNREACHABLE = "status_unreachable"
    """The provider's status page does not answer."""
    OTHERS_REACHABLE = "others_reachable"
    """Another target (the status page) answers while the Management API does not."""
    NO_OUTSIDE = "no_outside"
    """No outside target tells our network from the provider's."""
    WAITING_FOR_API = "waiting_for_api"
    """The failure is newer than the last reading of the Management API or the metrics."""
    FAILED_BEFORE = "failed_before"
    """The failures are ``services``' runs that got no answer before another of our probes
    was answered: from before our own network came back; their next runs tell."""
    PROJECT_STATUS = "project_status"
    """The Management API's project ``status`` (paused, resizing)."""
    QUOTA_REFUSED = "quota_refused"
    """``services`` answered HTTP 402: the organization's quota restricts them."""
    # the disk
    DISK_USED = "disk_used"
    """The disk's used ``ratio``; ``full``: at the provider's read-only line."""
    WRITES_REFUSED = "writes_refused"
    """The database refused a write: in a read-only transaction."""
    # the IO budget
    BUDGET_EMPTY = "budget_empty"
    """The estimate is at or near zero: ``ratio`` left, the estimate's ``confidence``."""
    THROUGHPUT_HELD = "throughput_held"
    """The throughput (``rate`` MB/s) is flat at ``tier``'s ``baseline`` MB/s."""
    IOPS_HELD = "iops_held"
    """The IO operations (``rate`` IOPS) are flat at ``tier``'s ``baseline`` IOPS."""
    THROTTLED_IOWAIT = "throttled_iowait"
    """The disks wait (iowait ``ratio``) while the IO is held (``facts``: the held fact)."""
    THROTTLED_LOW = "throttled_low"
    """The IO is held (``facts``: the held fact) with the estimate at ``ratio``."""
    THROTTLED_SLOW = "throttled_slow"
    """``service`` answered in ``seconds`` as the estimate reached zero: the disks' queue."""
    BUDGET_RUNS_OUT = "budget_runs_out"
    """The estimate forecasts the budget to run out in ``seconds``."""
    BUDGET_LEFT = "budget_left"
    """The estimate's ``ratio`` left, low and not refilling."""
    # the provider's emails and status page
    EMAIL = "email"
    """A recent ``email`` about the budget, ``trusted`` or not (``reason``), received ``at``."""
    TRUSTED_EMAIL = "trusted_email"
    """The newest trusted ``email`` about the budget, from ``sender``."""
    STATUS_GREEN = "status_green"
    """The status page is green: the cause is the project's own."""
    STATUS_INDICATOR = "status_indicator"
    """The status page's indicator (``status``), not green."""
    STATUS_BAD = "status_bad"
    """The status page's indicator (``status``) and the ``components`` not operational."""
    # connections
    POOL = "pool"
    """A ``pool``: ``used`` of ``limit`` (``from_size``: the size's table), its ``ratio``,
    ``full`` (at its line) and the requests ``waiting`` (PostgREST's pool)."""
    POOL_REFUSED = "pool_refused"
    """The db probe was refused for want of room by ``pool`` (direct or pooler)."""
    REST_ANSWERS = "rest_answers"
    """REST answers while the db probe is refused: the database serves."""
    # memory and CPU
    OOM = "oom"
    """The OOM killer struck between ``since`` and ``at``; the machine restarted."""
    RAM_HELD = "ram_held"
    """RAM ``ratio`` used for ``seconds``, above the provider's ``above`` all along."""
    SWAP_HIGH = "swap_high"
    """Swap ``ratio`` used, above ``above``."""
    SWAPPING = "swapping"
    """Swapping ``rate`` MB/s on the root disk; with the budget's ``ratio`` left and the
    ``seconds`` it lasts, when forecast."""
    LEAK = "leak"
    """Free memory falls steadily: out of memory in ``seconds``; RAM full after ``swap_s``."""
    RAM_USED = "ram_used"
    """RAM ``ratio`` used."""
    MEMORY_HOLDS = "memory_holds"
    """``holds`` is the smallest size whose memory keeps ``size_bytes`` under ``above``;
    ``tier`` is the size now."""
    CPU_HELD = "cpu_held"
    """The CPUs ``ratio`` busy for ``seconds``, above ``above`` all along."""
    CPU_BUSY = "cpu_busy"
    """The CPUs ``ratio`` busy."""
    CPU_HOLDS = "cpu_holds"
    """``holds`` is the smallest size with more CPUs than ``tier``."""
    # history
    RECORDED = "recorded"
    """A line of a stored diagnosis, read back: history, kept in the words (``text``) it was
    said in when the diagnosis was recorded."""


@dataclass(frozen=True, slots=True)
class Fact:
    """One fact of a diagnosis: its kind and the figures it carries (``FactKind`` names the
    fields each kind fills; the others keep their empty defaults)."""

    kind: FactKind
    _: KW_ONLY
    service: str | None = None
    services: tuple[str, ...] = ()
    code: int | None = None
    status: str | None = None
    components: tuple[tuple[str, str], ...] = ()
    """The status page's components not operational: (name, status)."""
    ratio: float | None = None
    confidence: float | None = None
    rate: float | None = None
    """MB/s or IOPS, as the kind says."""
    baseline: float | None = None
    tier: Tier | None = None
    holds: Tier | None = None
    seconds: float | None = None
    swap_s: float | None = None
    above: float | None = None
    """The line a reading is judged against (a ratio)."""
    size_bytes: float | None = None
    full: bool = False
    pool: str | None = None
    used: float | None = None
    limit: float | None = None
    from_size: bool = False
    waiting: float | None = None
    email: EmailKind | None = None
    trusted: bool = False
    reason: str | None = None
    sender: str | None = None
    since: datetime | None = None
    at: datetime | None = None
    facts: tuple[Fact, ...] = ()
    text: str | None = None


def recorded(text: str) -> Fact:
    """A stored diagnosis's line: history, in the words it was said in."""
    return Fact(FactKind.RECORDED, text=text)
