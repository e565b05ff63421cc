"""Scenario files: a timeline of provider events plus the expectations a replay must meet."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sbwatch.config.tomlpos import TomlPositions
from sbwatch.core.durations import parse_duration
from sbwatch.core.errors import ConfigError
from sbwatch.core.results import DiagnosisKind, EscalationMode
from sbwatch.supabase.tiers import Tier

_TAIL_S = 6 * 3600.0
_ENUMS: dict[str, tuple[str, ...]] = {
    "template": ("io_budget_warning", "io_budget_exhausted", "cpu_warning", "other"),
    "indicator": ("none", "minor", "major", "critical"),
    "name": ("db", "rest", "auth"),
    "fault": ("rate_limit", "error", "slow", "drop_after_apply", "none"),
    "state": ("active", "paused"),
}
_NUMBERS = ("read_mbps", "write_mbps")
_BOOLS = ("spoofed", "on", "up")
EVENT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required keys, optional keys); "at" is required and "ref" optional everywhere
    "workload": ((), ("read_mbps", "write_mbps")),
    "email": (("template",), ("spoofed",)),
    "status_page": (("indicator",), ("components",)),
    "platform_outage": (("on",), ()),
    "network": (("on",), ()),
    "service": (("name", "up"), ()),
    "mgmt_api": (("fault",), ("methods",)),
    "project": (("state",), ()),
}


@dataclass(frozen=True)
class ScenarioProject:
    """The simulated project at the start."""

    ref: str
    tier: Tier
    io_budget_pct: float


@dataclass(frozen=True)
class ScenarioPolicy:
    """The escalation policy the watcher runs with."""

    mode: EscalationMode
    max_tier: Tier
    monthly_cost_cap_usd: float
    cooldown_s: float


@dataclass(frozen=True)
class Expectations:
    """What must hold at the end of a replay (None: not checked)."""

    diagnosis: str | None = None
    never: tuple[str, ...] = ()
    escalate_to: str | None = None
    max_patch_calls: int | None = None
    first_alert_within_s: float | None = None
    max_downtime_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario; events are dicts {at_s, kind, ...} sorted by time."""

    name: str
    duration_s: float
    project: ScenarioProject
    policy: ScenarioPolicy
    events: tuple[dict[str, Any], ...]
    expect: Expectations


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
        raise ConfigError([f"{path}: {exc.strerror}"]) from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "scenario") -> Scenario:
    """Validate a scenario from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: {exc}"]) from None
    problems = _Problems()
    problems.unknown("", data, ("name", "duration", "project", "policy", "events", "expect"))
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.add("name", "required (a short name)")
    project = _project(problems, problems.table(data, "project"))
    policy = _policy(problems, problems.table(data, "policy"))
    events = _events(problems, data.get("events", []))
    expect = _expect(problems, problems.table(data, "expect"))
    last = max((event["at_s"] for event in events), default=0.0)
    duration = last + _TAIL_S
    if "duration" in data:
        duration = problems.seconds("duration", data["duration"]) or duration
    if problems.items:
        positions = TomlPositions(text)
        raise ConfigError([positions.locate(*item) for item in problems.items])
    return Scenario(str(name), duration, project, policy, events, expect)


def _project(problems: _Problems, data: dict[str, Any]) -> ScenarioProject:
    problems.unknown("project", data, ("ref", "tier", "io_budget_pct"))
    ref = data.get("ref")
    if not isinstance(ref, str) or len(ref) != 20 or not ref.isalnum() or ref.lower() != ref:
        problems.add("project.ref", "required: 20 lowercase letters or digits")
        ref = ""
    tier = problems.choice("project.tier", data.get("tier", "micro"), tuple(Tier))
    pct = problems.number("project.io_budget_pct", data.get("io_budget_pct", 100), 0, 100)
    return ScenarioProject(ref, Tier(tier or Tier.MICRO), pct)


def _policy(problems: _Problems, data: dict[str, Any]) -> ScenarioPolicy:
    problems.unknown("policy", data, ("mode", "max_tier", "monthly_cost_cap_usd", "cooldown"))
    mode = problems.choice("policy.mode", data.get("mode", "ask"), tuple(EscalationMode))
    max_tier = problems.choice("policy.max_tier", data.get("max_tier", "small"), tuple(Tier))
    cap = problems.number("policy.monthly_cost_cap_usd", data.get("monthly_cost_cap_usd", 30), 0)
    cooldown = problems.seconds("policy.cooldown", data.get("cooldown", "1h")) or 0.0
    return ScenarioPolicy(
        EscalationMode(mode or "ask"), Tier(max_tier or Tier.SMALL), cap, cooldown
    )


def _events(problems: _Problems, raw: Any) -> tuple[dict[str, Any], ...]:
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
            events.append(event)
    return tuple(sorted(events, key=lambda event: event["at_s"]))


def check_event(item: dict[str, Any]) -> dict[str, Any]:
    """One event without a time, as ``sbwatch sim ctl`` sends it, validated as in a scenario.

    Raises ConfigError listing every problem as ``key: message``.
    """
    problems = _Problems()
    event = _event(problems, "", item, timed=False)
    if event is None or problems.items:
        raise ConfigError([f"{where}: {message}" for where, message in problems.items])
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
            problems.add(_key(where, key), f"required for a {kind} event")
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
    if key in _BOOLS:
        return f"{key}=true|false"
    if key == "methods":
        return "methods=PATCH,GET"
    if key == "components":
        return 'components=\'["Database","REST API"]\''
    return f"{key}=TEXT"


def _event_value(problems: _Problems, where: str, key: str, value: Any) -> Any:
    if key in _ENUMS:
        return problems.choice(where, value, _ENUMS[key])
    if key in _NUMBERS:
        return problems.number(where, value, 0, 100_000)
    if key in _BOOLS:
        if not isinstance(value, bool):
            problems.add(where, "must be true or false")
        return bool(value)
    if key == "components":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problems.add(where, "must be a list of component names")
            return []
        return list(value)
    if not isinstance(value, str):
        problems.add(where, "must be a string")
    return value


def _expect(problems: _Problems, data: dict[str, Any]) -> Expectations:
    keys = (
        "diagnosis",
        "never",
        "escalate_to",
        "max_patch_calls",
        "first_alert_within",
        "max_downtime",
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
    escalate_to = None
    if "escalate_to" in data:
        escalate_to = problems.choice("expect.escalate_to", data["escalate_to"], ("none", *Tier))
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
    return Expectations(diagnosis, never, escalate_to, max_calls, first, downtime)
