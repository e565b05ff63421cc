"""Scenario files: a timeline of provider events plus the expectations a replay must meet.

The format (the README's Scenarios section has it in full):

- ``[project]`` (one project) or ``[[projects]]`` (several): ref, tier, io_budget_pct,
  true_limits_factor (how far the instance's real disk limits lie above the machine table,
  1.0 by default: hidden from the daemon, which knows only the published figures),
  budget_told (false: the daemon is not given io_budget_pct, as a new install is not).
- ``[[events]]`` at a time, of a kind; ``ref`` picks one project (default: every project).
  ``workload`` sets read_mbps/write_mbps and read_iops/write_iops (IOPS default to the bytes
  at 128 KiB an operation). ``pattern`` repeats a daily shape until the next workload or
  pattern event: ``hours`` holds 24 read MB/s values, one for each UTC hour from midnight (the
  replay starts at midnight); ``write_hours``, ``read_iops_hours`` and ``write_iops_hours``
  are optional 24-value series alongside; ``weekdays`` optionally scales every series by one
  factor a day, Monday first.
- ``outside_resize`` (``tier``): the dashboard changes the compute size; the world resizes as
  for a PATCH, counted apart (``outside_resizes``), and the watcher learns it from its size check.
- Disk space: the project's ``disk_gb`` (8), ``disk_used_pct`` (20) and ``spend_cap`` (false)
  at the start; a ``disk`` event sets ``fill_gb_per_hour`` (what the workload adds to /data)
  and ``spend_cap``. The provider grows the disk by half at 90% full, four changes a day at
  most, and holds the database read-only at 95% when it cannot (sim/space.py).
- Connections: a ``connections`` event sets ``leak_per_hour`` (connections a client opens
  and never closes; 0 stops it) and ``closed`` (true: that client closed them all). Postgres
  refuses new connections once its slots are taken; a compute change closes every one
  (sim/pools.py).
- Memory and CPU (sim/host.py): a ``memory`` event sets ``work_gb`` (what the workload holds
  beside the machine's base use) and ``leak_gb_per_hour`` (what a leak adds until the machine
  restarts); what RAM cannot hold goes to swap on the root disk (its IO spends the IO budget),
  and RAM and swap full is an OOM: the machine reboots, its counters reset, services are down
  two minutes. A ``cpu`` event sets ``load_cpus``: past the machine's CPUs requests slow, past
  1.2 times them they time out.
- Auth rate limits (sim/auth_limits.py): an ``auth_limit`` event sets ``refused_per_minute``
  (requests GoTrue refuses with HTTP 429 on ``route``; 0: none any more). The metrics
  endpoint's 429 counter of that route rises; users are refused, the project stays up.
  ``custom_smtp`` (false at the start) says whether ``GET .../config/auth`` shows a custom
  SMTP server.
- ``[policy]``: mode, max_tier, monthly_cost_cap_usd, cooldown, and optionally max_steps,
  escalate_within, warn_horizon, pattern_warn_horizon and critical_horizon (else the daemon's
  defaults).
- ``[expect]``: diagnosis, never, escalate_to (a tier or "none" for every project, or a table
  ``{ref = tier}``), max_patch_calls, first_alert_within, max_downtime, max_messages (how many
  messages the phone gets at most), max_messages_per_project (a number for each project, or a
  table ``{ref = n}``), ``[[expect.messages]]`` (found in order among the messages sent, others
  may come between: severity, ``title`` and ``contains`` pick one, ``not_contains`` must then be
  absent from it) and ``[[expect.no_messages]]`` (severity, kind, title, contains: no message
  may match them all); see sim/expect_messages.py; max_disk_calls (disk changes applied) and
  max_read_only (how long the databases may be read-only).
- ``[[maintenance]]``: windows on the timeline (start, end or duration, reason, ref); see
  sim/scenario_maintenance.py.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbwatch.config.tomlpos import TomlPositions
from sbwatch.core.durations import parse_duration
from sbwatch.core.errors import ConfigError
from sbwatch.core.problems import Problem
from sbwatch.core.results import DiagnosisKind, EscalationMode
from sbwatch.core.tiers import Tier
from sbwatch.sim.auth_limits import ROUTES as AUTH_ROUTES
from sbwatch.sim.expect_messages import (
    ExpectedMessage,
    UnwantedMessage,
    parse_messages,
    parse_no_messages,
    parse_per_project,
)
from sbwatch.sim.scenario_maintenance import ScenarioWindow, parse_windows
from sbwatch.sim.scopes import PERMISSIONS

_TAIL_S = 6 * 3600.0
_ENUMS: dict[str, tuple[str, ...]] = {
    "template": ("io_budget_warning", "io_budget_exhausted", "cpu_warning", "other"),
    "indicator": ("none", "minor", "major", "critical"),
    "name": ("db", "rest", "auth"),
    "fault": ("rate_limit", "error", "slow", "drop_after_apply", "none"),
    "state": ("active", "paused"),
    "tier": tuple(Tier),
    "route": AUTH_ROUTES,
    "over": ("egress", "storage", "database_size"),
}
_NUMBERS = (
    "read_mbps", "write_mbps", "read_iops", "write_iops", "fill_gb_per_hour", "leak_per_hour",
    "work_gb", "leak_gb_per_hour", "load_cpus", "refused_per_minute",
)  # fmt: skip
_NUMBER_MAX = 1_000_000.0
_SERIES = {"hours": 24, "write_hours": 24, "read_iops_hours": 24, "write_iops_hours": 24}
_SERIES_FACTORS = {"weekdays": 7}
_BOOLS = ("spoofed", "on", "up", "spend_cap", "closed", "custom_smtp", "restricted")
EVENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required keys, optional keys); "at" is required and "ref" optional everywhere
    "workload": ((), ("read_mbps", "write_mbps", "read_iops", "write_iops")),
    "pattern": (("hours",), ("write_hours", "read_iops_hours", "write_iops_hours", "weekdays")),
    "email": (("template",), ("spoofed",)),
    "status_page": (("indicator",), ("components",)),
    "platform_outage": (("on",), ()),
    "network": (("on",), ()),
    "service": (("name", "up"), ()),
    "mgmt_api": (("fault",), ("methods",)),
    "project": (("state",), ()),
    "outside_resize": (("tier",), ()),
    "disk": ((), ("fill_gb_per_hour", "spend_cap")),
    "connections": ((), ("leak_per_hour", "closed")),
    "memory": ((), ("work_gb", "leak_gb_per_hour")),
    "cpu": (("load_cpus",), ()),
    "auth_limit": (("route", "refused_per_minute"), ("custom_smtp",)),
    "quota": (("restricted",), ("over",)),
    "token": ((), ("lacks",)),
}


PROJECT_KEYS = (
    "ref", "tier", "io_budget_pct", "true_limits_factor", "disk_gb", "disk_used_pct", "spend_cap",
    "budget_told",
)  # fmt: skip
MAX_TRUE_LIMITS_FACTOR = 10.0


@dataclass(frozen=True)
class ScenarioProject:
    """A simulated project at the start."""

    ref: str
    tier: Tier
    io_budget_pct: float
    true_limits_factor: float = 1.0
    """How far the real disk limits lie above the machine table (the daemon cannot read it)."""
    disk_gb: int = 8
    """The size of ``/data`` at the start."""
    disk_used_pct: float = 20.0
    """How full ``/data`` is at the start."""
    spend_cap: bool = False
    """The organization's spend cap is on: the disk does not grow past 8 GB."""
    budget_told: bool = True
    """The daemon's configuration gives the budget's level at the start (``consumed_pct``);
    false: it starts without one, as a new install does."""


@dataclass(frozen=True)
class ScenarioPolicy:
    """The escalation policy the watcher runs with."""

    mode: EscalationMode
    max_tier: Tier
    monthly_cost_cap_usd: float
    cooldown_s: float
    max_steps: int | None = None
    """How many sizes one change may climb (None here and below: the daemon's default)."""
    escalate_within_s: float | None = None
    """Escalate when the budget forecast runs out within this."""
    warn_horizon_s: float | None = None
    """Warn when the budget runs out within this at the current rate."""
    pattern_warn_horizon_s: float | None = None
    """Warn when the learned weekly pattern runs the budget out within this."""
    critical_horizon_s: float | None = None
    """Page when the budget runs out within this."""


@dataclass(frozen=True)
class Expectations:
    """What must hold at the end of a replay (None: not checked)."""

    diagnosis: str | None = None
    never: tuple[str, ...] = ()
    escalate_to: str | None = None
    """A tier (or "none") for every project; see ``escalate_to_each`` for one per project."""
    max_patch_calls: int | None = None
    first_alert_within_s: float | None = None
    max_downtime_s: float | None = None
    escalate_to_each: dict[str, str] = field(default_factory=dict)
    """Per project ref, the tier it must end on (or "none": never changed)."""
    messages: tuple[ExpectedMessage, ...] = ()
    max_messages: int | None = None
    no_messages: tuple[UnwantedMessage, ...] = ()
    """Messages that must never be sent."""
    max_messages_per_project: int | None = None
    """How many messages each project's own alerts and notices send at most."""
    max_messages_each: dict[str, int] = field(default_factory=dict)
    """Per project ref, how many messages it sends at most."""
    invariants: bool = False
    """Check the rules that must hold in every replay (sim/invariants.py), one check each."""
    score: bool = False
    """Also pass the scorecard's rules, judged against the ground truth (sim/score.py)."""
    max_disk_calls: int | None = None
    """How many disk changes (``POST .../config/disk``) the simulator may apply at most."""
    max_read_only_s: float | None = None
    """How long the databases may be read-only (a full disk), all projects together."""


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario; events are dicts {at_s, kind, ...} sorted by time."""

    name: str
    duration_s: float
    project: ScenarioProject
    """The first project (the only one in most scenarios)."""
    policy: ScenarioPolicy
    events: tuple[dict[str, Any], ...]
    expect: Expectations
    projects: tuple[ScenarioProject, ...] = ()
    """Every project, the first one included (filled in from ``project`` when left empty)."""
    maintenance: tuple[ScenarioWindow, ...] = ()
    """Maintenance windows on the timeline."""

    def __post_init__(self) -> None:
        if not self.projects:
            object.__setattr__(self, "projects", (self.project,))


class _Problems:
    """Collects ``location: message`` problems while reading a document."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.add(key, "must be a table")
            return {}
        return value

    def unknown(self, where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                self.add(f"{where}.{key}" if where else key, "unknown key")

    def seconds(self, where: str, value: Any) -> float | None:
        if not isinstance(value, str):
            self.add(where, "must be a duration string like '5d2h30m'")
            return None
        try:
            return parse_duration(value).total_seconds()
        except ValueError as exc:
            self.add(where, str(exc))
            return None

    def choice(self, where: str, value: Any, allowed: tuple[str, ...]) -> str | None:
        if value not in allowed:
            self.add(where, f"must be one of {', '.join(allowed)} (got {value!r})")
            return None
        return str(value)

    def series(self, where: str, value: Any, length: int, high: float) -> list[float]:
        """A list of ``length`` numbers from 0 to ``high``."""
        ok = isinstance(value, list) and len(value) == length
        if ok and all(
            not isinstance(v, bool) and isinstance(v, int | float) and 0 <= v <= high for v in value
        ):
            return [float(v) for v in value]
        self.add(where, f"must be a list of {length} numbers from 0 to {high:g}")
        return []

    def number(self, where: str, value: Any, low: float, high: float = float("inf")) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            self.add(where, f"must be a number from {low:g} to {high:g}")
            return low
        return float(value)


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario TOML; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(str(path), str(exc.strerror))]) from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "scenario") -> Scenario:
    """Validate a scenario from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(source, str(exc))]) from None
    problems = _Problems()
    top = ("name", "duration", "project", "projects", "policy", "events", "expect", "maintenance")
    problems.unknown("", data, top)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.add("name", "required (a short name)")
    projects = _projects(problems, data)
    refs = tuple(p.ref for p in projects)
    policy = _policy(problems, problems.table(data, "policy"))
    events = _events(problems, data.get("events", []), refs)
    expect = _expect(problems, problems.table(data, "expect"), refs)
    windows = parse_windows(problems, data.get("maintenance"), refs)
    last = max((event["at_s"] for event in events), default=0.0)
    duration = last + _TAIL_S
    if "duration" in data:
        duration = problems.seconds("duration", data["duration"]) or duration
    if problems.items:
        positions = TomlPositions(text)
        raise ConfigError([positions.place(Problem(*item)) for item in problems.items])
    return Scenario(str(name), duration, projects[0], policy, events, expect, projects, windows)


def _projects(problems: _Problems, data: dict[str, Any]) -> tuple[ScenarioProject, ...]:
    """``[project]`` or ``[[projects]]`` (not both); at least one project, refs unique."""
    if "project" in data and "projects" in data:
        problems.add("projects", "write either [project] or [[projects]], not both")
    if "projects" not in data:
        return (_project(problems, "project", problems.table(data, "project")),)
    raw = data["projects"]
    if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
        problems.add("projects", "must be an array of tables ([[projects]]), at least one")
        return (ScenarioProject("", Tier.MICRO, 100.0),)
    projects = tuple(_project(problems, f"projects[{i}]", item) for i, item in enumerate(raw))
    seen: set[str] = set()
    for index, project in enumerate(projects):
        if project.ref and project.ref in seen:
            problems.add(f"projects[{index}].ref", f"{project.ref} is already a project")
        seen.add(project.ref)
    return projects


def _project(problems: _Problems, where: str, data: dict[str, Any]) -> ScenarioProject:
    problems.unknown(where, data, PROJECT_KEYS)
    ref = data.get("ref")
    if not isinstance(ref, str) or len(ref) != 20 or not ref.isalnum() or ref.lower() != ref:
        problems.add(f"{where}.ref", "required: 20 lowercase letters or digits")
        ref = ""
    tier = problems.choice(f"{where}.tier", data.get("tier", "micro"), tuple(Tier))
    pct = problems.number(f"{where}.io_budget_pct", data.get("io_budget_pct", 100), 0, 100)
    factor = problems.number(
        f"{where}.true_limits_factor",
        data.get("true_limits_factor", 1.0),
        1.0,
        MAX_TRUE_LIMITS_FACTOR,
    )
    disk_gb = problems.number(f"{where}.disk_gb", data.get("disk_gb", 8), 1, 65_536)
    if disk_gb != int(disk_gb):
        problems.add(f"{where}.disk_gb", "must be a whole number of GB")
    used = problems.number(f"{where}.disk_used_pct", data.get("disk_used_pct", 20), 0, 100)
    cap = data.get("spend_cap", False)
    if not isinstance(cap, bool):
        problems.add(f"{where}.spend_cap", "must be true or false")
    told = data.get("budget_told", True)
    if not isinstance(told, bool):
        problems.add(f"{where}.budget_told", "must be true or false")
    return ScenarioProject(
        ref, Tier(tier or Tier.MICRO), pct, factor, int(disk_gb), used, cap is True, told is True
    )


POLICY_KEYS = ("mode", "max_tier", "monthly_cost_cap_usd", "cooldown", "max_steps")
POLICY_DURATIONS = (
    "escalate_within",
    "warn_horizon",
    "pattern_warn_horizon",
    "critical_horizon",
)
MAX_STEPS = 8


def _policy(problems: _Problems, data: dict[str, Any]) -> ScenarioPolicy:
    problems.unknown("policy", data, (*POLICY_KEYS, *POLICY_DURATIONS))
    mode = problems.choice("policy.mode", data.get("mode", "ask"), tuple(EscalationMode))
    max_tier = problems.choice("policy.max_tier", data.get("max_tier", "small"), tuple(Tier))
    cap = problems.number("policy.monthly_cost_cap_usd", data.get("monthly_cost_cap_usd", 30), 0)
    cooldown = problems.seconds("policy.cooldown", data.get("cooldown", "1h")) or 0.0
    steps = data.get("max_steps")
    if "max_steps" in data and (
        isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS
    ):
        problems.add("policy.max_steps", f"must be a whole number from 1 to {MAX_STEPS}")
        steps = None
    horizons = {
        key: _positive(problems, f"policy.{key}", data.get(key)) for key in POLICY_DURATIONS
    }
    return ScenarioPolicy(
        EscalationMode(mode or "ask"),
        Tier(max_tier or Tier.SMALL),
        cap,
        cooldown,
        max_steps=steps,
        escalate_within_s=horizons["escalate_within"],
        warn_horizon_s=horizons["warn_horizon"],
        pattern_warn_horizon_s=horizons["pattern_warn_horizon"],
        critical_horizon_s=horizons["critical_horizon"],
    )


def _positive(problems: _Problems, where: str, value: Any) -> float | None:
    """An optional duration longer than zero."""
    if value is None:
        return None
    seconds = problems.seconds(where, value)
    if seconds is not None and seconds <= 0:
        problems.add(where, "must be longer than 0s")
        return None
    return seconds


def _events(problems: _Problems, raw: Any, refs: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    if not isinstance(raw, list):
        problems.add("events", "must be an array of tables ([[events]])")
        return ()
    events = []
    for index, item in enumerate(raw):
        where = f"events[{index}]"
        if not isinstance(item, dict):
            problems.add(where, "must be a table")
            continue
        event = _event(problems, where, item)
        if event is not None:
            ref = event.get("ref")
            if isinstance(ref, str) and all(refs) and ref not in refs:
                problems.add(f"{where}.ref", f"not a project of this scenario ({', '.join(refs)})")
            events.append(event)
    return tuple(sorted(events, key=lambda event: event["at_s"]))


def check_event(item: dict[str, Any]) -> dict[str, Any]:
    """One event without a time, as ``sbwatch sim ctl`` sends it, validated as in a scenario.

    Raises ConfigError listing every problem as ``key: message``.
    """
    problems = _Problems()
    event = _event(problems, "", item, timed=False)
    if event is None or problems.items:
        raise ConfigError([Problem(*item) for item in problems.items])
    return event


def _event(
    problems: _Problems, where: str, item: dict[str, Any], *, timed: bool = True
) -> dict[str, Any] | None:
    """One event table -> {at_s, kind, ...} ({kind, ...} untimed); problems for bad keys/values."""
    kind = item.get("kind")
    if kind not in EVENT_KEYS:
        got = f"must be one of {', '.join(EVENT_KEYS)} (got {kind!r})"
        problems.add(_key(where, "kind"), got)
        return None
    required, optional = EVENT_KEYS[kind]
    problems.unknown(where, item, ("at", "kind", "ref", *required, *optional)[0 if timed else 1 :])
    for key in required:
        if key not in item:
            problems.add(_key(where, key), f"required for {_article(kind)} {kind} event")
    event: dict[str, Any] = {"kind": kind}
    if timed:
        at_s = problems.seconds(f"{where}.at", item.get("at")) if "at" in item else None
        if "at" not in item:
            problems.add(f"{where}.at", "required")
        event = {"at_s": at_s or 0.0, **event}
    for key, value in item.items():
        if key in ("at", "kind") or key not in (*required, *optional, "ref"):
            continue
        event[key] = _event_value(problems, _key(where, key), key, value)
    return event


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def describe_events() -> str:
    """Every event kind with its keys (required ones bare, optional ones in brackets), and the
    values the enumerated keys take: the reference for ``sbwatch sim ctl --help``."""
    lines = ["event kinds and their keys ([optional]; every kind also takes ref=REF):"]
    for kind, (required, optional) in EVENT_KEYS.items():
        keys = [_hint(key) for key in required] + [f"[{_hint(key)}]" for key in optional]
        lines.append(f"  {kind:<16} {' '.join(keys)}")
    lines.append("values:")
    lines += [f"  {key:<10} {', '.join(values)}" for key, values in _ENUMS.items()]
    return "\n".join(lines)


def _hint(key: str) -> str:
    if key in _ENUMS:
        return f"{key}={key.upper()}"
    if key in _NUMBERS:
        return f"{key}=N"
    if key in _SERIES:
        return f"{key}='[{_SERIES[key]} numbers]'"
    if key in _SERIES_FACTORS:
        return f"{key}='[{_SERIES_FACTORS[key]} factors, Monday first]'"
    if key in _BOOLS:
        return f"{key}=true|false"
    if key == "methods":
        return "methods=PATCH,GET"
    if key == "components":
        return 'components=\'["Database","REST API"]\''
    if key == "lacks":
        return "lacks='[\"infra_add_ons_write\"]'"
    return f"{key}=TEXT"


def _event_value(problems: _Problems, where: str, key: str, value: Any) -> Any:
    if key in _ENUMS:
        return problems.choice(where, value, _ENUMS[key])
    if key in _NUMBERS:
        return problems.number(where, value, 0, _NUMBER_MAX)
    if key in _SERIES:
        return problems.series(where, value, _SERIES[key], _NUMBER_MAX)
    if key in _SERIES_FACTORS:
        return problems.series(where, value, _SERIES_FACTORS[key], 100.0)
    if key in _BOOLS:
        if not isinstance(value, bool):
            problems.add(where, "must be true or false")
        return bool(value)
    if key == "components":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.add(where, "must be a list of component names")
            return []
        return list(value)
    if key == "lacks":
        if not isinstance(value, list) or not all(item in PERMISSIONS for item in value):
            problems.add(where, f"must be a list of permissions ({', '.join(PERMISSIONS)})")
            return []
        return list(value)
    if not isinstance(value, str):
        problems.add(where, "must be a string")
    return value


def _expect(problems: _Problems, data: dict[str, Any], refs: tuple[str, ...]) -> Expectations:
    keys = (
        "diagnosis",
        "never",
        "escalate_to",
        "max_patch_calls",
        "first_alert_within",
        "max_downtime",
        "max_messages",
        "max_messages_per_project",
        "messages",
        "no_messages",
        "invariants",
        "score",
        "max_disk_calls",
        "max_read_only",
    )
    problems.unknown("expect", data, keys)
    kinds = tuple(DiagnosisKind)
    diagnosis = (
        problems.choice("expect.diagnosis", data["diagnosis"], kinds)
        if "diagnosis" in data
        else None
    )
    never_raw = data.get("never", [])
    if not isinstance(never_raw, list):
        problems.add("expect.never", "must be a list of diagnosis kinds")
        never_raw = []
    never = tuple(
        problems.choice(f"expect.never[{i}]", kind, kinds) or "" for i, kind in enumerate(never_raw)
    )
    escalate_to, each = _escalate_to(problems, data, refs)
    max_calls = None
    if "max_patch_calls" in data:
        max_calls = int(problems.number("expect.max_patch_calls", data["max_patch_calls"], 0, 1000))
    first = (
        problems.seconds("expect.first_alert_within", data["first_alert_within"])
        if "first_alert_within" in data
        else None
    )
    downtime = (
        problems.seconds("expect.max_downtime", data["max_downtime"])
        if "max_downtime" in data
        else None
    )
    max_messages = None
    if "max_messages" in data:
        max_messages = int(problems.number("expect.max_messages", data["max_messages"], 0, 10_000))
        if data["max_messages"] != max_messages:
            problems.add("expect.max_messages", "must be a whole number")
    messages = parse_messages(problems, data.get("messages", []))
    unwanted = parse_no_messages(problems, data.get("no_messages", []))
    per_project, each_project = (
        parse_per_project(problems, data["max_messages_per_project"], refs)
        if "max_messages_per_project" in data
        else (None, {})
    )
    max_disk = None
    if "max_disk_calls" in data:
        max_disk = int(problems.number("expect.max_disk_calls", data["max_disk_calls"], 0, 1000))
    read_only = (
        problems.seconds("expect.max_read_only", data["max_read_only"])
        if "max_read_only" in data
        else None
    )
    invariants = data.get("invariants", False)
    if not isinstance(invariants, bool):
        problems.add("expect.invariants", "must be true or false")
    score = data.get("score", False)
    if not isinstance(score, bool):
        problems.add("expect.score", "must be true or false")
    return Expectations(
        diagnosis,
        never,
        escalate_to,
        max_calls,
        first,
        downtime,
        escalate_to_each=each,
        messages=messages,
        max_messages=max_messages,
        invariants=invariants is True,
        score=score is True,
        no_messages=unwanted,
        max_messages_per_project=per_project,
        max_messages_each=each_project,
        max_disk_calls=max_disk,
        max_read_only_s=read_only,
    )


def _escalate_to(
    problems: _Problems, data: dict[str, Any], refs: tuple[str, ...]
) -> tuple[str | None, dict[str, str]]:
    """``escalate_to = "small"`` (every project) or ``escalate_to = {ref = "small", ...}``."""
    if "escalate_to" not in data:
        return None, {}
    raw = data["escalate_to"]
    tiers = ("none", *Tier)
    if not isinstance(raw, dict):
        return problems.choice("expect.escalate_to", raw, tiers), {}
    each: dict[str, str] = {}
    for ref, tier in raw.items():
        where = f"expect.escalate_to.{ref}"
        if all(refs) and ref not in refs:
            problems.add(where, f"not a project of this scenario ({', '.join(refs)})")
        chosen = problems.choice(where, tier, tiers)
        if chosen is not None:
            each[str(ref)] = chosen
    return None, each


def stamp(seconds: float) -> str:
    """A moment of a replay as the timeline prints it: ``2d05h30m``."""
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    return f"{days}d{hours:02d}h{rest // 60:02d}m"
