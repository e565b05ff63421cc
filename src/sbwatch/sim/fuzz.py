"""Chaos replay: random scenarios, each replayed and held to the invariants; failures shrunk.

A case is a scenario document (the TOML of ``sim replay``) drawn from a seeded generator:
workloads steady, in daily patterns and in IOPS, provider emails genuine and spoofed, status
page states, platform outages, our own network lost, services failing, Management API
faults, paused projects, one project or two, under every escalation mode. Trouble happens in
the first part of the case; the last ``CALM_S`` bring everything back, so every alert has a
reason to resolve. Each case is replayed with ``[expect] invariants = true``
(sim/invariants.py); an exception out of a job fails the case too.

A failing case is shrunk: projects, events and the length are cut while the same rule still
breaks, and the smallest document is written out as a scenario file, a regular scenario test.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sbwatch.sim.auth_limits import ROUTES as AUTH_ROUTES
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario
from sbwatch.sim.scopes import PERMISSIONS

HOUR_S = 3600
CALM_S = 4 * HOUR_S
"""The quiet end of every case: all trouble over, the load light."""
TEMPLATES = ("io_budget_warning", "io_budget_exhausted", "cpu_warning", "other")
TIERS = ("micro", "micro", "micro", "small", "medium")
MAX_TIERS = ("small", "medium", "large", "xl")
CAPS = (10, 20, 30, 70, 150)
RESIZES = ("micro", "small", "medium", "large")
"""The sizes a resize made outside sbwatch moves to."""

Doc = dict[str, Any]
Printer = Callable[[str], None]


@dataclass
class Outcome:
    """One case replayed: the rules it broke (empty: it held) and how long it took."""

    doc: Doc
    broken: list[dict[str, Any]]
    seconds: float

    @property
    def names(self) -> frozenset[str]:
        """The names of the broken rules."""
        return frozenset(c["name"] for c in self.broken)


@dataclass
class Campaign:
    """What a campaign found."""

    cases: int = 0
    seconds: float = 0.0
    failures: list[tuple[Outcome, Doc, Path | None]] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        """Cases replayed per second of wall time."""
        return self.cases / self.seconds if self.seconds else 0.0


# -- generating ----------------------------------------------------------------------------


def generate(rng: random.Random, days: float, index: int = 0) -> Doc:
    """One random case of ``days`` days."""
    duration = max(int(days * 86_400), CALM_S + 2 * HOUR_S)
    trouble_until = duration - CALM_S
    refs = [_ref(rng) for _ in range(2 if rng.random() < 0.2 else 1)]
    events: list[dict[str, Any]] = []
    for ref in refs:
        events.append({"at": 0, "kind": "workload", "ref": ref, **_load(rng)})
    for _ in range(rng.randint(2, 9)):
        events += _trouble(rng, rng.choice(refs), rng.randrange(0, trouble_until), trouble_until)
    for ref in refs:
        events += _calm(ref, trouble_until)
    events += _disk(random.Random(f"disk:{index}:{refs[0]}"), refs, trouble_until)
    events += _leak(random.Random(f"leak:{index}:{refs[0]}"), refs, trouble_until)
    events += _auth_limit(random.Random(f"auth:{index}:{refs[0]}"), refs, trouble_until)
    events += _host(random.Random(f"host:{index}:{refs[0]}"), refs, trouble_until)
    events += _organization(random.Random(f"org:{index}:{refs[0]}"), trouble_until)
    events.sort(key=lambda e: int(e["at"]))
    return {
        "name": f"fuzz-{index}",
        "duration": duration,
        "projects": [
            {
                "ref": ref,
                "tier": rng.choice(TIERS),
                "io_budget_pct": rng.choice((100, 80, 50, 20, 8, 3)),
                "true_limits_factor": rng.choice((1.0, 1.0, 1.0, 1.3)),
            }
            for ref in refs
        ],
        "policy": {
            "mode": rng.choice(("auto", "auto", "auto", "ask", "off")),
            "max_tier": rng.choice(MAX_TIERS),
            "monthly_cost_cap_usd": rng.choice(CAPS),
            "cooldown": rng.choice((1800, 3600, 7200)),
        },
        "events": events,
    }


def _ref(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(20))


def _load(rng: random.Random) -> dict[str, Any]:
    shape = rng.random()
    if shape < 0.35:  # light
        return {"read_mbps": rng.randint(0, 8), "write_mbps": rng.randint(0, 4)}
    if shape < 0.8:  # heavy enough to drain a small size
        return {"read_mbps": rng.randint(10, 60), "write_mbps": rng.randint(0, 30)}
    return {  # operations, not bytes
        "read_mbps": rng.randint(0, 5),
        "read_iops": rng.randint(500, 4000),
        "write_iops": rng.randint(0, 2000),
    }


def _trouble(rng: random.Random, ref: str, at: int, until: int) -> list[dict[str, Any]]:
    """One thing going wrong (and, for a state, going right again before ``until``)."""
    end = min(until, at + rng.randint(5 * 60, 3 * HOUR_S))
    kind = rng.choice(
        (
            "workload",
            "workload",
            "pattern",
            "email",
            "email",
            "status_page",
            "platform_outage",
            "network",
            "service",
            "mgmt_api",
            "project",
            "outside_resize",
        )
    )
    if kind == "workload":
        return [{"at": at, "kind": "workload", "ref": ref, **_load(rng)}]
    if kind == "pattern":
        low, high = rng.randint(0, 5), rng.randint(10, 70)
        busy = {rng.randrange(24) for _ in range(rng.randint(2, 10))}
        hours = [high if h in busy else low for h in range(24)]
        return [{"at": at, "kind": "pattern", "ref": ref, "hours": hours}]
    if kind == "email":
        spoofed = rng.random() < 0.4
        return [
            {
                "at": at,
                "kind": "email",
                "ref": ref,
                "template": rng.choice(TEMPLATES),
                "spoofed": spoofed,
            }
        ]
    if kind == "status_page":
        indicator = rng.choice(("minor", "major", "critical"))
        return [
            {"at": at, "kind": "status_page", "indicator": indicator},
            {"at": end, "kind": "status_page", "indicator": "none"},
        ]
    if kind == "platform_outage":
        events = [
            {"at": at, "kind": "platform_outage", "on": True},
            {"at": end, "kind": "platform_outage", "on": False},
        ]
        if rng.random() < 0.6:
            events.append({"at": min(end, at + 240), "kind": "status_page", "indicator": "major"})
            events.append({"at": end, "kind": "status_page", "indicator": "none"})
        return events
    if kind == "network":
        return [
            {"at": at, "kind": "network", "on": False},
            {"at": min(end, at + rng.randint(120, HOUR_S)), "kind": "network", "on": True},
        ]
    if kind == "service":
        name = rng.choice(("db", "rest", "auth"))
        return [
            {"at": at, "kind": "service", "ref": ref, "name": name, "up": False},
            {"at": end, "kind": "service", "ref": ref, "name": name, "up": True},
        ]
    if kind == "mgmt_api":
        fault = rng.choice(("rate_limit", "error", "slow", "drop_after_apply"))
        return [
            {"at": at, "kind": "mgmt_api", "fault": fault},
            {"at": end, "kind": "mgmt_api", "fault": "none"},
        ]
    if kind == "outside_resize":  # the dashboard, up or down
        return [{"at": at, "kind": "outside_resize", "ref": ref, "tier": rng.choice(RESIZES)}]
    return [
        {"at": at, "kind": "project", "ref": ref, "state": "paused"},
        {"at": end, "kind": "project", "ref": ref, "state": "active"},
    ]


def _disk(rng: random.Random, refs: list[str], until: int) -> list[dict[str, Any]]:
    """Now and then /data grows slowly (drawn apart from the case's own generator, so that
    the cases drawn before disks existed stay the same)."""
    if rng.random() >= 0.3:
        return []
    rate = rng.choice((0.01, 0.02, 0.05))
    return [{"at": rng.randrange(0, until), "kind": "disk", "ref": rng.choice(refs),
             "fill_gb_per_hour": rate}]  # fmt: skip


def _leak(rng: random.Random, refs: list[str], until: int) -> list[dict[str, Any]]:
    """Now and then a client leaks connections, closed again later (drawn apart, as disks)."""
    if rng.random() >= 0.3:
        return []
    ref, start = rng.choice(refs), rng.randrange(0, until)
    close = rng.randrange(start, until + 1)
    return [
        {"at": start, "kind": "connections", "ref": ref, "leak_per_hour": rng.choice((5, 10, 40))},
        {"at": close, "kind": "connections", "ref": ref, "leak_per_hour": 0, "closed": True},
    ]


def _host(rng: random.Random, refs: list[str], until: int) -> list[dict[str, Any]]:
    """Now and then a memory leak or a CPU-bound load (drawn apart, like the disk's)."""
    if rng.random() >= 0.2:
        return []
    ref, at = rng.choice(refs), rng.randrange(0, until)
    if rng.random() < 0.5:
        leak = rng.choice((0.05, 0.2, 0.4))
        return [{"at": at, "kind": "memory", "ref": ref, "work_gb": 0.1, "leak_gb_per_hour": leak}]
    end = min(until, at + rng.randint(30 * 60, 3 * HOUR_S))
    return [{"at": at, "kind": "cpu", "ref": ref, "load_cpus": rng.choice((1.9, 2.6))},
            {"at": end, "kind": "cpu", "ref": ref, "load_cpus": 0.0}]  # fmt: skip


def _auth_limit(rng: random.Random, refs: list[str], until: int) -> list[dict[str, Any]]:
    """Now and then GoTrue refuses requests on a route, stopped later (drawn apart, as disks)."""
    if rng.random() >= 0.3:
        return []
    ref, route, start = rng.choice(refs), rng.choice(AUTH_ROUTES), rng.randrange(0, until)
    stop = rng.randrange(start, until + 1)
    rate = rng.choice((0.5, 5, 50, 500))
    return [
        {"at": start, "kind": "auth_limit", "ref": ref, "route": route, "refused_per_minute": rate},
        {"at": stop, "kind": "auth_limit", "ref": ref, "route": route, "refused_per_minute": 0},
    ]


def _organization(rng: random.Random, until: int) -> list[dict[str, Any]]:
    """Now and then the organization is over its quota (402 everywhere) for a while, or the
    token is a scoped one lacking a permission for a while (drawn apart, as disks)."""
    events: list[dict[str, Any]] = []
    if rng.random() < 0.15:
        start = rng.randrange(0, until)
        over = rng.choice(("egress", "storage", "database_size"))
        events += [
            {"at": start, "kind": "quota", "restricted": True, "over": over},
            {"at": rng.randrange(start, until + 1), "kind": "quota", "restricted": False},
        ]
    if rng.random() < 0.15:
        start = rng.randrange(0, until)
        lacks = rng.sample(PERMISSIONS, rng.randint(1, 2))
        events += [
            {"at": start, "kind": "token", "lacks": lacks},
            {"at": rng.randrange(start, until + 1), "kind": "token", "lacks": []},
        ]
    return events


def _calm(ref: str, at: int) -> list[dict[str, Any]]:
    return [
        {"at": at, "kind": "workload", "ref": ref, "read_mbps": 1, "write_mbps": 0},
        {"at": at, "kind": "project", "ref": ref, "state": "active"},
        *({"at": at, "kind": "service", "ref": ref, "name": n, "up": True} for n in SERVICES),
    ]


SERVICES = ("db", "rest", "auth")


# -- writing -------------------------------------------------------------------------------


def to_toml(doc: Doc, *, note: str = "", expect: str = "invariants") -> str:
    """The case as a scenario file that ``sim replay`` reads, checking the invariants (or,
    with ``expect="score"``, the scorecard's rules)."""
    lines = [f"# {line}" for line in note.splitlines()]
    lines += [f"name = {_value(doc['name'])}", f"duration = {_value(_span(doc['duration']))}"]
    for project in doc["projects"]:
        lines += ["", "[[projects]]", *(f"{k} = {_value(v)}" for k, v in project.items())]
    policy = {**doc["policy"], "cooldown": _span(doc["policy"]["cooldown"])}
    lines += ["", "[policy]", *(f"{k} = {_value(v)}" for k, v in policy.items())]
    for event in doc["events"]:
        fields = {**event, "at": _span(event["at"])}
        lines += ["", "[[events]]", *(f"{k} = {_value(v)}" for k, v in fields.items())]
    lines += ["", "[expect]", f"{expect} = true", ""]
    return "\n".join(lines)


def _span(seconds: int) -> str:
    return f"{int(seconds)}s"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


# -- running and shrinking ------------------------------------------------------------------


def run_case(doc: Doc) -> Outcome:
    """Replay one case; the invariants it broke (an exception is ``no_exception``)."""
    started = time.perf_counter()
    scenario = parse_scenario(to_toml(doc), source=str(doc["name"]))
    try:
        report = asyncio.run(replay(scenario))
    except Exception as exc:  # the rule itself: nothing may escape a job
        broken = [
            {"name": "no_exception", "passed": False, "detail": f"{type(exc).__name__}: {exc}"}
        ]
        return Outcome(doc, broken, time.perf_counter() - started)
    broken = [c for c in report["checks"] if not c["passed"]]
    return Outcome(doc, broken, time.perf_counter() - started)


def shrink(
    outcome: Outcome,
    *,
    budget: int = 60,
    say: Printer | None = None,
    run: Callable[[Doc], Outcome] | None = None,
) -> Outcome:
    """The smallest case found that still breaks one of the same rules (``budget`` replays).

    ``run``: how a case is judged (default: replayed against the invariants).
    """
    judge = run_case if run is None else run
    target = outcome.names
    best = outcome
    tries = 0

    def attempt(doc: Doc) -> bool:
        nonlocal best, tries
        if tries >= budget:
            return False
        tries += 1
        trial = judge(doc)
        if trial.names & target:
            best = trial
            if say is not None:
                say(f"  shrunk to {len(doc['events'])} events, {_span(doc['duration'])}")
            return True
        return False

    for project in list(best.doc["projects"])[1:]:
        attempt(_without_project(best.doc, project["ref"]))
    chunk = max(1, len(best.doc["events"]) // 2)
    while chunk >= 1 and tries < budget:
        start = 0
        while start < len(best.doc["events"]) and tries < budget:
            events = best.doc["events"]
            if not attempt({**best.doc, "events": events[:start] + events[start + chunk :]}):
                start += chunk
        chunk //= 2
    attempt(_shorter(best.doc))
    return best


def _without_project(doc: Doc, ref: str) -> Doc:
    return {
        **doc,
        "projects": [p for p in doc["projects"] if p["ref"] != ref],
        "events": [e for e in doc["events"] if e.get("ref") != ref],
    }


def _shorter(doc: Doc) -> Doc:
    last = max((int(e["at"]) for e in doc["events"]), default=0)
    return {**doc, "duration": min(int(doc["duration"]), last + CALM_S)}


def campaign(
    seed: int,
    count: int,
    days: float,
    *,
    out_dir: Path | None = None,
    say: Printer | None = None,
    shrink_budget: int = 60,
) -> Campaign:
    """Generate and replay ``count`` cases from ``seed``; shrink and write out each failure."""
    rng = random.Random(seed)
    found = Campaign()
    started = time.perf_counter()
    for index in range(count):
        doc = generate(rng, days, index)
        outcome = run_case(doc)
        found.cases += 1
        if say is not None:
            verdict = "ok" if not outcome.broken else "BROKEN " + ", ".join(sorted(outcome.names))
            say(f"case {index} ({len(doc['events'])} events, {outcome.seconds:.1f}s): {verdict}")
        if outcome.broken:
            small = shrink(outcome, budget=shrink_budget, say=say)
            path = _write(small, out_dir, seed, index) if out_dir is not None else None
            found.failures.append((outcome, small.doc, path))
    found.seconds = time.perf_counter() - started
    return found


def _write(outcome: Outcome, out_dir: Path, seed: int, index: int) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"fuzz-seed{seed}-case{index}.toml"
    note = "\n".join(
        [f"Found by sbwatch sim fuzz --seed {seed} (case {index}), shrunk. It broke:"]
        + [f"  {c['name']}: {c['detail']}" for c in outcome.broken]
    )
    path.write_text(to_toml({**outcome.doc, "name": path.stem}, note=note), encoding="utf-8")
    return path
