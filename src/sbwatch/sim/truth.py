"""Ground truth of a replay: what really failed, when and why, and what would have happened.

The simulated world is deterministic: its state at any moment follows from the scenario's
events and the compute changes the Management API started (``SimWorld.api_resizes``). So the
truth is read by running the world again without the daemon, sampling every project once a
``SAMPLE_S``: each balance's true level, the true limits, the size, the load, and which
services truly fail or are slow, and why. A counterfactual is the same run with some of the
compute changes left out ("would the project have failed without this PATCH, and when?").

Nothing here is visible to the daemon; only the scorecard (sim/score.py) reads it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sbwatch.core.clock import VirtualClock
from sbwatch.sim.model import SERVICES, Demand, DiskIoModel
from sbwatch.sim.scenario import Scenario
from sbwatch.sim.world import SimProject, SimWorld

START = datetime(2026, 5, 20, tzinfo=UTC)
"""Where every replay's clock starts (a Wednesday, midnight UTC)."""
SAMPLE_S = 60.0
"""How often the truth is read: the probes' own cadence."""
SLOW_S = 5.0
"""A request to REST or auth that takes this long counts as failing for a person."""
NEVER_PUBLISH_S = 1e12
FULL_RATIO = 0.999
"""A balance this full is full: a drain starts after it."""
DAY_S = 86_400.0


class Cause(StrEnum):
    """Why a service truly fails or is slow."""

    BUDGET = "budget"
    """The disk IO budget is used up: throughput held at the baseline under more demand."""
    OVERLOAD = "overload"
    """Demand over what the disks serve even at burst, with budget left (no size cures it)."""
    SERVICE = "service_fault"
    OUTAGE = "platform_outage"
    NETWORK = "local_network"
    RESIZE = "resize"
    PAUSED = "paused"
    READ_ONLY = "read_only"
    """The disk is full and cannot grow: the database refuses writes."""
    CONNECTIONS = "connections"
    """Postgres has no connection slot left (a leak): new connections are refused."""
    MEMORY = "memory"
    """RAM and swap ran out: the OOM rebooted the machine."""
    CPU = "cpu"
    """A load over the machine's CPUs: requests time out."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One project at one moment, as it really was."""

    at_s: float
    budget: float
    tier: str
    bad: dict[str, Cause]
    """Services failing or slow now, each with its cause."""
    demand: Demand
    baseline_mbps: float
    resizing: bool
    read_only: bool = False
    """The database refuses writes (a full disk that cannot grow)."""
    connections: float = 0.0
    """The used share of Postgres's connections."""
    auth_refused: tuple[str, ...] = ()
    """The auth routes refusing requests (HTTP 429): users refused, the project up."""
    memory_short: bool = False
    """RAM over three quarters or swap over seven tenths used: the size is too small."""
    cpu_busy: bool = False
    """A load holds the CPUs busy above nine tenths."""


@dataclass(frozen=True)
class Incident:
    """A maximal stretch where some service of one project truly fails or is slow."""

    project: str
    start_s: float
    end_s: float
    """The first moment it was seen over (or the end of the run)."""
    causes: tuple[Cause, ...]
    """Every cause met, in the order they appeared; the first is the incident's cause."""
    services: tuple[str, ...]
    budget_s: float | None
    """When the used-up budget first made a service fail or slow (None: never)."""

    @property
    def cause(self) -> Cause:
        """The cause it started with."""
        return self.causes[0]

    def covers(self, at_s: float) -> bool:
        """Whether the incident was under way at ``at_s``."""
        return self.start_s <= at_s < self.end_s

    def as_dict(self) -> dict[str, Any]:
        """For a JSON report."""
        return {
            "project": self.project,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "cause": self.cause.value,
            "causes": [c.value for c in self.causes],
            "services": list(self.services),
            "budget_s": self.budget_s,
        }


@dataclass(frozen=True)
class Drain:
    """The stretch before a budget failure in which it could be seen coming.

    ``start_s``: since when the load was steady or repeated the day before's, with the budget
    below full on the size that failed; ``lead_s`` the warning the rule asks for: 24 h when
    the drain took over two days, else half of it.
    """

    start_s: float
    failed_s: float
    since_resize_s: float
    """When the size that failed came into force (0: the start)."""

    @property
    def took_s(self) -> float:
        """How long the drain lasted."""
        return self.failed_s - self.start_s

    @property
    def lead_s(self) -> float:
        """The lead a warning needs."""
        return DAY_S if self.took_s > 2 * DAY_S else self.took_s / 2

    def predictable(self, at_least_s: float) -> bool:
        """Whether it could be seen at least ``at_least_s`` before it failed."""
        return self.took_s >= at_least_s


@dataclass
class Timeline:
    """Every project's samples over a run."""

    refs: tuple[str, ...]
    samples: dict[str, list[Sample]]
    step_s: float
    duration_s: float
    resized: dict[str, list[float]]
    """Per project, when each compute change completed (the new size, full)."""
    disk_changes: tuple[dict[str, Any], ...] = ()
    """The disk changes the run made (a counterfactual keeps them)."""
    _found: dict[str, list[Incident]] = field(default_factory=dict, repr=False)

    def at(self, ref: str, at_s: float) -> Sample:
        """The sample in force at ``at_s`` (the last one taken at or before it)."""
        series = self.samples[ref]
        index = min(len(series) - 1, max(0, int(at_s // self.step_s)))
        return series[index]

    def incidents(self, ref: str | None = None) -> list[Incident]:
        """Every incident, of one project or of all, in time order."""
        refs = self.refs if ref is None else (ref,)
        found = [i for r in refs for i in self._of(r)]
        return sorted(found, key=lambda i: (i.start_s, i.project))

    def _of(self, ref: str) -> list[Incident]:
        if ref not in self._found:
            self._found[ref] = list(_incidents(ref, self.samples[ref], self.duration_s))
        return self._found[ref]

    def last_resize(self, ref: str, before_s: float) -> float:
        """When the size in force at ``before_s`` came into force (0.0: the start)."""
        done = self.resized.get(ref, [])
        index = bisect.bisect_right(done, before_s)
        return done[index - 1] if index else 0.0

    def drain(self, incident: Incident) -> Drain | None:
        """The drain behind a budget failure (None when the budget did not cause it)."""
        if incident.budget_s is None:
            return None
        series = self.samples[incident.project]
        failed = int(incident.budget_s // self.step_s)
        since = self.last_resize(incident.project, incident.budget_s)
        day = int(DAY_S // self.step_s)
        j = failed
        while j > 0:
            prev, cur = series[j - 1], series[j]
            if prev.resizing or prev.at_s < since:
                break
            if prev.budget >= FULL_RATIO:
                j -= 1  # the drain starts from the last full moment
                break
            if cur.demand != prev.demand and not (
                j - day - 1 >= 0
                and series[j - day].demand == cur.demand
                and series[j - day - 1].demand == prev.demand
            ):
                break  # a change of load that yesterday did not show
            j -= 1
        return Drain(start_s=series[j].at_s, failed_s=incident.budget_s, since_resize_s=since)


def _incidents(ref: str, series: Sequence[Sample], duration_s: float) -> Iterable[Incident]:
    start: Sample | None = None
    causes: list[Cause] = []
    services: set[str] = set()
    budget_s: float | None = None
    for sample in series:
        if sample.bad:
            if start is None:
                start, causes, services, budget_s = sample, [], set(), None
            for cause in sample.bad.values():
                if cause not in causes:
                    causes.append(cause)
            services |= sample.bad.keys()
            if budget_s is None and Cause.BUDGET in sample.bad.values():
                budget_s = sample.at_s
        elif start is not None:
            yield Incident(
                ref, start.at_s, sample.at_s, tuple(causes), _ordered(services), budget_s
            )
            start = None
    if start is not None:
        yield Incident(ref, start.at_s, duration_s, tuple(causes), _ordered(services), budget_s)


def _ordered(services: set[str]) -> tuple[str, ...]:
    return tuple(s for s in SERVICES if s in services)


# -- running the world ---------------------------------------------------------------------


def world_for(scenario: Scenario) -> SimWorld:
    """A fresh world as the replay builds it: every project at its start."""
    # Nothing here reads the metrics endpoint: publishing (a snapshot of the counters, which
    # changes no state) is put off for ever.
    world = SimWorld(VirtualClock(START), metrics_update_s=NEVER_PUBLISH_S)
    for project in scenario.projects:
        world.add_project(
            project.ref,
            project.tier,
            project.io_budget_pct,
            true_limits_factor=project.true_limits_factor,
            disk_gb=project.disk_gb,
            disk_used_pct=project.disk_used_pct,
            spend_cap=project.spend_cap,
        )
    return world


def run_world(
    scenario: Scenario,
    resizes: Sequence[dict[str, Any]],
    *,
    until_s: float | None = None,
    step_s: float = SAMPLE_S,
    disk_changes: Sequence[dict[str, Any]] = (),
) -> Timeline:
    """Run the scenario's world without the daemon, with these compute changes, sampling it.

    ``until_s``: where to stop (default: the scenario's end); past the end, the world goes on
    as the last events left it, which is what a forecast made near the end is judged by.

    ``resizes``: dicts {at, project, tier, rollback} as ``SimWorld.api_resizes`` records them;
    ``disk_changes``: dicts {at, project, size_gb} as ``SimWorld.api_disk_changes`` does.
    At one moment, events come before a change, as in the replay (jobs run after events).
    """
    world = world_for(scenario)
    clock = world.clock
    assert isinstance(clock, VirtualClock)
    end = scenario.duration_s if until_s is None else until_s
    steps: list[tuple[float, int, dict[str, Any]]] = [
        (float(e["at_s"]), 0, e) for e in scenario.events
    ]
    steps += [(float(r["at"]), 1, r) for r in resizes]
    steps += [(float(d["at"]), 2, d) for d in disk_changes]
    steps.sort(key=lambda s: (s[0], s[1]))
    refs = tuple(p.ref for p in scenario.projects)
    samples: dict[str, list[Sample]] = {ref: [] for ref in refs}
    resized: dict[str, list[float]] = {ref: [] for ref in refs}
    pending: dict[str, float] = {}
    position = 0
    at = 0.0
    while at <= end + 1e-9:
        while position < len(steps) and steps[position][0] <= at:
            when, kind, item = steps[position]
            position += 1
            clock.advance(max(0.0, when - clock.elapsed))
            if kind == 0:
                world.apply({k: v for k, v in item.items() if k != "at_s"})
            elif kind == 2:
                world.set_disk(str(item["project"]), int(item["size_gb"]))
            else:
                world.resize(
                    str(item["project"]), str(item["tier"]), rollback=bool(item["rollback"])
                )
        clock.advance(max(0.0, at - clock.elapsed))
        world.sync()
        for ref in refs:
            project = world.projects[ref]
            if project.resize_until is not None:
                pending[ref] = project.resize_until
            elif ref in pending:
                resized[ref].append(pending.pop(ref))
            samples[ref].append(_sample(world, project, at))
        at += step_s
    return Timeline(refs, samples, step_s, end, resized, tuple(disk_changes))


def _sample(world: SimWorld, project: SimProject, at_s: float) -> Sample:
    model = project.model
    everything: Cause | None = None
    if project.paused:
        everything = Cause.PAUSED
    elif world.platform_outage:
        everything = Cause.OUTAGE
    elif project.resizing:
        everything = Cause.RESIZE
    elif not world.network_up:
        everything = Cause.NETWORK
    elif project.host.down(world.clock.monotonic()):
        everything = Cause.MEMORY
    bad: dict[str, Cause] = {}
    if everything is not None:
        bad = dict.fromkeys(SERVICES, everything)
    else:
        queue = Cause.OVERLOAD if _over_burst(model.demand, model) else Cause.BUDGET
        if project.host.cpu_wait_s() >= SLOW_S:
            queue = Cause.CPU
        for name in SERVICES:
            slow = model.failing(name) if name == "db" else model.latency_s(name) >= SLOW_S
            if name in project.faults:
                bad[name] = Cause.SERVICE
            elif slow:
                bad[name] = queue
        if "db" in project.faults and "rest" not in bad:
            bad["rest"] = Cause.SERVICE  # PostgREST cannot answer without its database
        if project.space.read_only and "db" not in bad:
            bad["db"] = Cause.READ_ONLY  # reads go on, every write fails
        if project.pools.full:
            for name in ("db", "rest"):  # a new connection is refused; REST's pool cannot refill
                bad.setdefault(name, Cause.CONNECTIONS)
    return Sample(
        at_s=at_s,
        budget=model.budget_ratio,
        tier=str(project.tier),
        bad=bad,
        demand=model.demand,
        baseline_mbps=model.bytes_balance.baseline,
        resizing=project.resizing,
        read_only=project.space.read_only,
        connections=project.pools.ratio,
        auth_refused=project.auth.refusing,
        memory_short=project.host.memory_short,
        cpu_busy=project.host.cpu_saturation > 0.9,
    )


def _over_burst(demand: Demand, model: DiskIoModel) -> bool:
    """Whether the load asks more than the disks serve even at burst (no budget cures it)."""
    return demand.mbps > model.bytes_balance.burst or demand.iops > model.ops_balance.burst


def without(resizes: Sequence[dict[str, Any]], project: str, from_s: float) -> list[dict[str, Any]]:
    """The compute changes with those of ``project`` at or after ``from_s`` left out."""
    return [r for r in resizes if r["project"] != project or float(r["at"]) < from_s]
