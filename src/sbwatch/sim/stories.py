"""Random incidents as operators meet them, for the scorecard (sim/scorecard.py).

A case is a scenario document (what ``sbwatch sim replay`` reads, as sim/fuzz.py writes it):
one or two projects, each with a story for its load, and some of what goes wrong besides.

Loads: steady with a net drain or a net refill, a step up, day/night and weekly patterns,
a short spike on a full budget, a burst long enough to run the budget out, IOPS-only loads,
light loads. The drains are drawn by when they would run out (within the case or after it),
from the project's true limits, which lie 1.0-1.6 times above the published ones.
Besides: a service (auth, rest or db) failing on its own, platform outages and our own
network lost over a drain, Management API 429 / 500 / a lost answer after the change applied,
provider emails genuine and spoofed, an unrelated status page incident, a paused project, a
resize made in the dashboard;
under ``auto``, ``ask`` and ``off``, with max_tier and cost caps that may stop the next step.
Every fault is over for the last ``CALM_S`` of a case, so every alert about one has a reason
to resolve; the load goes on as its story left it.
"""

from __future__ import annotations

import random
import string
from typing import Any

from sbwatch.sim.auth_limits import ROUTES as AUTH_ROUTES
from sbwatch.sim.hardware import BURST_BALANCE_S, machine
from sbwatch.sim.pools import APP, MAX_CONNECTIONS, PLATFORM, RESERVED, REST_POOL

HOUR_S = 3600
CALM_S = 2 * HOUR_S
MB = 1_000_000.0
OP_BYTES = 128 * 1024
LOADS = (
    ("steady", 4),
    ("refill", 2),
    ("step", 3),
    ("daynight", 3),
    ("weekly", 1),
    ("spike", 3),
    ("burst", 3),
    ("iops", 2),
    ("light", 2),
)
TROUBLES = (
    ("service", 3),
    ("outage", 2),
    ("network", 2),
    ("mgmt_api", 3),
    ("email", 3),
    ("spoofed", 2),
    ("status_minor", 1),
    ("paused", 1),
)

OUTSIDE_RESIZE_SHARE = 0.1
"""The share of cases in which someone also resizes a project in the dashboard."""
LEAK_SHARE = 0.15
"""The share of cases in which a client leaks connections."""
AUTH_LIMIT_SHARE = 0.2
"""The share of cases in which GoTrue refuses requests on a route (auth rate limits)."""
HOST_SHARE = 0.15
"""The share of cases in which a project's memory leaks or a load holds its CPUs."""

Doc = dict[str, Any]
Event = dict[str, Any]


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[w for _, w in weighted])[0]


def story(rng: random.Random, days: float, index: int = 0) -> Doc:
    """One random case of ``days`` days (at least six hours)."""
    duration = max(int(days * 86_400), 6 * HOUR_S)
    busy_until = duration - CALM_S
    projects = [_project(rng) for _ in range(2 if rng.random() < 0.2 else 1)]
    events: list[Event] = []
    loads: dict[str, str] = {}
    for project in projects:
        loads[project["ref"]] = _pick(rng, LOADS)
        events += _load(rng, project, loads[project["ref"]], busy_until)
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        project = rng.choice(projects)
        kind = _pick(rng, TROUBLES)
        if kind == "email":
            events += _warning_email(rng, project, events, busy_until)
        else:
            events += _trouble(rng, project, kind, busy_until)
    events += _outside_resize(projects, busy_until)
    events += _leak(projects, busy_until)
    events += _auth_limit(projects, busy_until)
    events += _host_trouble(projects, busy_until)
    for project in projects:
        events += _calm(project["ref"], busy_until)
    events.sort(key=lambda e: int(e["at"]))
    mode = rng.choices(("auto", "ask", "off"), weights=(5, 4, 1))[0]
    return {
        "name": f"story-{index}-" + "+".join(loads[p["ref"]] for p in projects),
        "duration": duration,
        "projects": projects,
        "policy": {
            "mode": mode,
            "max_tier": rng.choice(("small", "small", "medium", "large")),
            "monthly_cost_cap_usd": rng.choice((10, 30, 30, 70, 150)),
            "cooldown": 3600,
        },
        "events": events,
    }


def _outside_resize(projects: list[dict[str, Any]], until: int) -> list[Event]:
    """In some cases, a resize made in the dashboard, up or down.

    Drawn from a generator of its own, seeded by the case's project refs, so the cases of a
    seed drawn before this trouble existed stay as they were.
    """
    aside = random.Random("+".join(p["ref"] for p in projects))
    if aside.random() >= OUTSIDE_RESIZE_SHARE:
        return []
    ref = aside.choice(projects)["ref"]
    tier = aside.choice(("micro", "small", "small", "medium"))
    at = aside.randrange(0, max(1, until - 10 * 60))
    return [{"at": at, "kind": "outside_resize", "ref": ref, "tier": tier}]


def _leak(projects: list[dict[str, Any]], until: int) -> list[Event]:
    """In some cases, a client leaking connections: it fills Postgres's slots in one to six
    hours, and is closed some time after (at the latest when the case calms down).

    Drawn from a generator of its own, seeded by the case's project refs, so the cases of a
    seed drawn before connections existed stay as they were.
    """
    aside = random.Random("leak:" + "+".join(p["ref"] for p in projects))
    if aside.random() >= LEAK_SHARE:
        return []
    project = aside.choice(projects)
    ref = project["ref"]
    room = MAX_CONNECTIONS[project["tier"]] - RESERVED - PLATFORM - REST_POOL - APP
    start = aside.randrange(0, max(1, until - HOUR_S))
    rate = round(room / aside.uniform(1.0, 6.0), 1)
    close = min(until, start + int(room / rate * HOUR_S) + aside.randrange(10 * 60, 2 * HOUR_S))
    return [
        {"at": start, "kind": "connections", "ref": ref, "leak_per_hour": rate},
        {"at": close, "kind": "connections", "ref": ref, "leak_per_hour": 0, "closed": True},
    ]


def _host_trouble(projects: list[dict[str, Any]], until: int) -> list[Event]:
    """In some cases, a memory leak (to an OOM, or not within the case) or a CPU-bound load
    (saturating, or past the CPUs for a while); drawn apart like the outside resize."""
    aside = random.Random("host:" + "+".join(p["ref"] for p in projects))
    if aside.random() >= HOST_SHARE:
        return []
    ref = aside.choice(projects)["ref"]
    at = aside.randrange(0, max(1, until // 2))
    if aside.random() < 0.5:
        leak = aside.choice((0.05, 0.15, 0.3))
        return [{"at": at, "kind": "memory", "ref": ref, "work_gb": 0.1, "leak_gb_per_hour": leak}]
    load = aside.choice((1.9, 2.2, 2.6))
    end = min(until, at + aside.choice((1, 2, 3)) * HOUR_S)
    return [
        {"at": at, "kind": "cpu", "ref": ref, "load_cpus": load},
        {"at": end, "kind": "cpu", "ref": ref, "load_cpus": 0.0},
    ]


def _auth_limit(projects: list[dict[str, Any]], until: int) -> list[Event]:
    """In some cases, GoTrue refusing requests on one route: steadily (3 to 30 a minute for
    twenty minutes to three hours) or in a burst of one minute.

    Drawn from a generator of its own, seeded by the case's project refs, so the cases of a
    seed drawn before auth rate limits existed stay as they were.
    """
    aside = random.Random("auth:" + "+".join(p["ref"] for p in projects))
    if aside.random() >= AUTH_LIMIT_SHARE:
        return []
    ref = aside.choice(projects)["ref"]
    route = aside.choice(AUTH_ROUTES)
    start = aside.randrange(0, max(1, until - HOUR_S))
    if aside.random() < 0.3:
        rate, lasts = float(aside.randrange(100, 600)), 60
    else:
        rate, lasts = float(aside.randrange(3, 31)), aside.randrange(20 * 60, 3 * HOUR_S)
    return [
        {"at": start, "kind": "auth_limit", "ref": ref, "route": route, "refused_per_minute": rate},
        {"at": start + lasts, "kind": "auth_limit", "ref": ref, "route": route,
         "refused_per_minute": 0},
    ]  # fmt: skip


def _project(rng: random.Random) -> dict[str, Any]:
    return {
        "ref": "".join(rng.choice(string.ascii_lowercase) for _ in range(20)),
        "tier": rng.choices(("nano", "micro", "small", "medium"), weights=(1, 6, 2, 1))[0],
        "io_budget_pct": rng.choice((100, 100, 100, 90, 70, 50, 30)),
        "true_limits_factor": round(rng.choice((1.0, 1.0, rng.uniform(1.0, 1.6))), 2),
    }


def _limits(project: dict[str, Any]) -> tuple[float, float, float]:
    """True baseline and burst MB/s and the bytes balance left, MB, of a project at start."""
    m = machine(project["tier"])
    factor = float(project["true_limits_factor"])
    base, burst = m.sustained_bytes_s / MB * factor, m.burst_bytes_s / MB * factor
    left = (burst - base) * BURST_BALANCE_S * project["io_budget_pct"] / 100
    return base, burst, left


def _drain_load(rng: random.Random, project: dict[str, Any], until: int) -> float:
    """A load that runs the budget out around a random time, inside the case or after it."""
    base, burst, left = _limits(project)
    empty_after = rng.uniform(0.3, 2.0) * until
    return round(min(burst * 0.9, base + left / empty_after), 1)


def _load(rng: random.Random, project: dict[str, Any], kind: str, until: int) -> list[Event]:
    ref = project["ref"]
    base, burst, left = _limits(project)

    def at(when: float, **demand: Any) -> Event:
        return {"at": int(when), "kind": "workload", "ref": ref, **demand}

    light = round(base * rng.uniform(0.1, 0.7), 1)
    if kind == "steady":
        return [at(0, read_mbps=_drain_load(rng, project, until))]
    if kind == "refill":
        return [at(0, read_mbps=round(base * rng.uniform(0.3, 0.95), 1))]
    if kind == "light":
        return [at(0, read_mbps=light, write_mbps=round(light / 4, 1))]
    if kind == "step":
        step = rng.randrange(HOUR_S, max(HOUR_S + 1, until // 2))
        return [at(0, read_mbps=light), at(step, read_mbps=_drain_load(rng, project, until - step))]
    if kind in ("daynight", "weekly"):
        high = _drain_load(rng, project, until) * rng.uniform(1.2, 2.0)
        low = base * rng.uniform(0.2, 0.8)
        start = rng.randrange(6, 10)
        hours = [round(high if start <= h < start + 12 else low, 1) for h in range(24)]
        event: Event = {"at": 0, "kind": "pattern", "ref": ref, "hours": hours}
        if kind == "weekly":
            event["weekdays"] = [1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.3]
        return [event]
    if kind == "spike":
        project["io_budget_pct"] = 100
        when = rng.randrange(HOUR_S, until - HOUR_S)
        spike = round(burst * rng.uniform(0.5, 0.95), 1)
        return [
            at(0, read_mbps=light),
            at(when, read_mbps=spike),
            at(when + rng.randrange(5 * 60, 15 * 60), read_mbps=light),
        ]
    if kind == "burst":
        when = rng.randrange(HOUR_S, until // 2)
        rate = round(burst * rng.uniform(0.4, 0.9), 1)
        lasts = left / max(1.0, rate - base) * rng.uniform(1.1, 2.0)
        return [
            at(0, read_mbps=light),
            at(when, read_mbps=rate),
            at(min(until, when + lasts), read_mbps=light),
        ]
    m = machine(project["tier"])  # iops: small reads, the operations run out first
    factor = float(project["true_limits_factor"])
    ops_base = m.sustained_iops * factor
    ops_left = (m.burst_iops - m.sustained_iops) * factor * BURST_BALANCE_S
    ops_left *= project["io_budget_pct"] / 100
    iops = ops_base + ops_left / (rng.uniform(0.3, 2.0) * until)
    return [at(0, read_mbps=round(iops * 8192 / MB, 1), read_iops=round(iops))]


def _trouble(rng: random.Random, project: dict[str, Any], kind: str, until: int) -> list[Event]:
    ref = project["ref"]
    start = rng.randrange(0, max(1, until - 10 * 60))
    end = min(until, start + rng.randrange(5 * 60, 2 * HOUR_S))
    if kind == "service":
        name = rng.choice(("auth", "auth", "rest", "db"))
        return [
            {"at": start, "kind": "service", "ref": ref, "name": name, "up": False},
            {"at": end, "kind": "service", "ref": ref, "name": name, "up": True},
        ]
    if kind == "outage":
        events = [
            {"at": start, "kind": "platform_outage", "on": True},
            {"at": end, "kind": "platform_outage", "on": False},
        ]
        if rng.random() < 0.6:
            events += [
                {"at": min(end, start + 240), "kind": "status_page", "indicator": "major"},
                {"at": end, "kind": "status_page", "indicator": "none"},
            ]
        return events
    if kind == "network":
        return [
            {"at": start, "kind": "network", "on": False},
            {"at": min(end, start + rng.randrange(120, HOUR_S)), "kind": "network", "on": True},
        ]
    if kind == "mgmt_api":
        fault = rng.choice(("rate_limit", "error", "drop_after_apply", "slow"))
        return [
            {"at": start, "kind": "mgmt_api", "fault": fault},
            {"at": end, "kind": "mgmt_api", "fault": "none"},
        ]
    if kind == "spoofed":
        template = rng.choice(("io_budget_warning", "io_budget_exhausted", "other"))
        return [{"at": start, "kind": "email", "ref": ref, "template": template, "spoofed": True}]
    if kind == "status_minor":
        return [
            {"at": start, "kind": "status_page", "indicator": "minor"},
            {"at": end, "kind": "status_page", "indicator": "none"},
        ]
    return [
        {"at": start, "kind": "project", "ref": ref, "state": "paused"},
        {"at": end, "kind": "project", "ref": ref, "state": "active"},
    ]


def _warning_email(
    rng: random.Random, project: dict[str, Any], events: list[Event], until: int
) -> list[Event]:
    """The provider's genuine warning, sent as its budget truly gets low (a steady drain)."""
    ref = project["ref"]
    mine = [e for e in events if e.get("ref") == ref and e["kind"] == "workload"]
    base, _, left = _limits(project)
    rate = sum(float(e.get("read_mbps", 0.0)) + float(e.get("write_mbps", 0.0)) for e in mine)
    if len(mine) != 1 or mine[0].get("read_iops") is not None or rate <= base:
        other = {"at": rng.randrange(0, until), "kind": "email", "ref": ref, "template": "other"}
        return [other]
    low_at = int(left * 0.8 / (rate - base))  # the provider writes at about 20% left
    if low_at >= until:
        return []
    return [{"at": low_at, "kind": "email", "ref": ref, "template": "io_budget_warning"}]


def _calm(ref: str, at: int) -> list[Event]:
    """Every fault over (the load goes on: a forecast near the end is judged past it)."""
    return [
        {"at": at, "kind": "project", "ref": ref, "state": "active"},
        *({"at": at, "kind": "service", "ref": ref, "name": n, "up": True} for n in SERVICES),
    ]


SERVICES = ("db", "rest", "auth")
