"""The simulated provider's state: projects, their IO models, faults and compute changes."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sbwatch.core.clock import Clock
from sbwatch.sim.auth_limits import AuthLimits
from sbwatch.sim.emails import build_email, dns_txt
from sbwatch.sim.hardware import SIZES
from sbwatch.sim.host import GIB as HOST_GIB
from sbwatch.sim.host import STEP_S as HOST_STEP_S
from sbwatch.sim.host import HostModel
from sbwatch.sim.model import PUBLISH_EVERY_S, SERVICES, DiskIoModel
from sbwatch.sim.pools import Pools
from sbwatch.sim.space import GIB, DiskSpace

if TYPE_CHECKING:
    from starlette.applications import Starlette

HOUR_S = 3600.0
_SERVICES = frozenset(SERVICES)
MGMT_FAULTS = ("none", "rate_limit", "error", "slow", "drop_after_apply")
"""drop_after_apply: a PATCH/DELETE is applied, then the connection closes without an answer."""
INDICATORS = ("none", "minor", "major", "critical")


PATTERN_SERIES = ("hours", "write_hours", "read_iops_hours", "write_iops_hours")
"""The 24-value series of a pattern event: read MB/s, write MB/s, read IOPS, write IOPS."""


@dataclass(frozen=True)
class Pattern:
    """A repeating daily workload: one value per UTC hour, optionally scaled by weekday.

    ``hours`` are read MB/s, ``write_hours`` write MB/s, ``read_iops_hours`` and
    ``write_iops_hours`` IOPS (None: the bytes at the model's default operation size);
    ``weekdays`` are 7 factors, Monday first, applied to every series.
    """

    hours: tuple[float, ...]
    write_hours: tuple[float, ...] | None = None
    read_iops_hours: tuple[float, ...] | None = None
    write_iops_hours: tuple[float, ...] | None = None
    weekdays: tuple[float, ...] | None = None

    @classmethod
    def of(cls, event: dict[str, Any]) -> Pattern:
        """The pattern of a ``pattern`` event; ValueError naming a bad series."""

        def series(key: str, length: int = 24) -> tuple[float, ...] | None:
            raw = event.get(key)
            if raw is None:
                return None
            if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != length:
                raise ValueError(f"{key}: a list of {length} numbers")
            values = tuple(float(v) for v in raw)
            if any(v < 0 or not math.isfinite(v) for v in values):
                raise ValueError(f"{key}: numbers of 0 or more")
            return values

        hours = series("hours")
        if hours is None:
            raise ValueError("hours: required for a pattern event (24 read MB/s values)")
        return cls(
            hours,
            series("write_hours"),
            series("read_iops_hours"),
            series("write_iops_hours"),
            series("weekdays", 7),
        )

    def demand_at(self, at: datetime) -> tuple[float, float, float | None, float | None]:
        """(read MB/s, write MB/s, read IOPS, write IOPS) during the hour of ``at``."""
        hour = at.hour
        scale = 1.0 if self.weekdays is None else self.weekdays[at.weekday()]

        def pick(values: tuple[float, ...] | None) -> float | None:
            return None if values is None else values[hour] * scale

        return (
            self.hours[hour] * scale,
            pick(self.write_hours) or 0.0,
            pick(self.read_iops_hours),
            pick(self.write_iops_hours),
        )


@dataclass
class SimProject:
    """One simulated project: its model, status and faults."""

    ref: str
    model: DiskIoModel
    name: str = ""
    region: str = "eu-central-1"
    paused: bool = False
    faults: set[str] = field(default_factory=set)
    """Services switched down by a ``service`` event."""
    resize_until: float | None = None
    resize_to: str | None = None
    previous_tiers: list[str] = field(default_factory=list)
    downtime_s: float = 0.0
    pattern: Pattern | None = None
    """A daily workload shape in force (a workload event ends it)."""
    lowest_budget: float = 1.0
    """The lowest the budget has been on this project's current size."""
    synced: float = 0.0
    """The monotonic time its model has been advanced to."""
    space: DiskSpace = field(default_factory=DiskSpace)
    """Its ``/data`` filling, grown by the provider, read-only when it cannot grow."""
    pools: Pools = field(default_factory=Pools)
    """Its connections: a leak fills Postgres's slots, then new connections are refused."""
    host: HostModel = field(default_factory=HostModel)
    """Its machine's memory, swap and CPU load (sim/host.py)."""
    auth: AuthLimits = field(default_factory=AuthLimits)
    """GoTrue's 429s by route: users refused by the auth rate limits (sim/auth_limits.py)."""

    @property
    def tier(self) -> str:
        """The compute size in effect (the old one while resizing)."""
        return self.model.tier

    @property
    def resizing(self) -> bool:
        """A compute change is under way."""
        return self.resize_until is not None


class SimWorld:
    """Every simulated project plus the provider-wide faults, advanced on a Clock."""

    def __init__(
        self,
        clock: Clock,
        *,
        resize_seconds: float = 120.0,
        seed: int = 0,
        metrics_update_s: float = PUBLISH_EVERY_S,
    ) -> None:
        self.clock = clock
        self.metrics_update_s = metrics_update_s
        """How often each project's metrics endpoint updates (0: every change at once)."""
        self.rng = random.Random(seed)
        self.resize_seconds = resize_seconds
        self.projects: dict[str, SimProject] = {}
        self.patch_calls = 0
        self.patch_attempts = 0
        self.changes: list[dict[str, Any]] = []
        """Every PATCH of a compute size that reached the world, with what was true when it
        arrived and whether it was applied."""
        self.outside_resizes: list[dict[str, Any]] = []
        """Every compute change made outside sbwatch (the dashboard), as an ``outside_resize``
        event made it: never a PATCH sbwatch sent, so never in ``changes`` nor the counters."""
        self.emails: list[bytes] = []
        self.email_to = "ops@sbwatch.test"
        self.platform_outage = False
        self.network_up = True
        self.mgmt_fault = "none"
        self.mgmt_fault_methods: frozenset[str] | None = None
        """The HTTP methods the fault hits (None: every method)."""
        self.restricted_by: str | None = None
        """What the organization is over its quota of (egress, storage, database_size): every
        project's endpoints answer 402 until it is lifted. None: not restricted."""
        self.token_lacks: frozenset[str] = frozenset()
        """The permissions the Management API token lacks (a scoped token): calls needing one
        answer 403 naming it in ``missing_permissions``."""
        self.status_indicator = "none"
        self.status_components: list[str] | None = None
        self.api_resizes: list[dict[str, Any]] = []
        """Every compute change the Management API started (PATCH or DELETE), at its exact
        monotonic time: with the scenario's events, all a re-run of this world needs."""
        self._in_event = False
        self.disk_calls = 0
        """Disk changes (POST .../config/disk) the simulator accepted and applied."""
        self.disk_attempts = 0
        self.api_disk_changes: list[dict[str, Any]] = []
        """Every disk change the Management API made, at its monotonic time (for re-runs)."""

    def add_project(
        self,
        ref: str,
        tier: str,
        budget_pct: float = 100.0,
        *,
        true_limits_factor: float = 1.0,
        name: str | None = None,
        disk_gb: int = 8,
        disk_used_pct: float = 20.0,
        spend_cap: bool = False,
    ) -> SimProject:
        """Create a project (ACTIVE_HEALTHY, idle) on ``tier`` with ``budget_pct`` % left.

        ``true_limits_factor``: how far the instance's real disk limits lie above the machine
        table (1.2: 20% more baseline and burst), which nothing outside the simulator can read.
        """
        every = self.metrics_update_s
        model = DiskIoModel(
            tier,
            budget_pct,
            true_limits_factor=true_limits_factor,
            minute_phase_s=self.clock.now().timestamp() % every if every else 0.0,
            publish_every_s=every,
        )
        now = self.clock.monotonic()
        space = DiskSpace(disk_gb, disk_gb * GIB * disk_used_pct / 100, spend_cap=spend_cap, t=now)
        project = SimProject(
            ref=ref,
            model=model,
            name=name or f"sim-{ref[:6]}",
            synced=now,
            space=space,
            pools=Pools(size=str(tier), t=now),
            host=HostModel(size=tier),
        )
        self.projects[ref] = project
        return project

    def project(self, ref: str) -> SimProject:
        """A project by ref; KeyError when unknown."""
        return self.projects[ref]

    def sync(self, ref: str | None = None) -> None:
        """Advance a project's model to clock.now(), or every project's without ``ref``.

        A request syncs only the project it is about, so a fleet's request costs one model,
        not all of them; anything that changes the world (an event, a resize) syncs every
        project first, so each model has run under the conditions of its time.
        """
        now = self.clock.monotonic()
        if ref is None:
            for each in self.projects.values():
                self._sync(each, now)
        elif (one := self.projects.get(ref)) is not None:
            self._sync(one, now)

    def _sync(self, project: SimProject, now: float) -> None:
        start = project.synced
        if now == start:
            return  # nothing has moved since the last sync
        if project.resize_until is not None and project.resize_until <= now:
            self._advance(project, start, project.resize_until)
            project.pools.advance(start, project.resize_until)
            project.auth.advance(start, project.resize_until)
            start = project.resize_until
            self._finish_resize(project)
        self._advance(project, start, now)
        project.space.advance(project.synced, now)
        project.pools.advance(start, now)
        project.auth.advance(start, now)
        project.synced = now

    def _wall(self, monotonic: float) -> datetime:
        """The wall-clock time of a monotonic reading."""
        return self.clock.now() - timedelta(seconds=self.clock.monotonic() - monotonic)

    def _advance(self, project: SimProject, start: float, end: float) -> None:
        """Advance one model, hour by hour while a daily pattern sets the demand."""
        while end - start > 1e-9:
            stop = end
            if project.pattern is not None:
                into_hour = self._wall(start).timestamp() % HOUR_S
                stop = min(end, start + HOUR_S - into_hour)
                project.model.set_demand(*project.pattern.demand_at(self._wall(start)))
            self._advance_host(project, start, stop - start)
            start = stop

    def _advance_host(self, project: SimProject, start: float, seconds: float) -> None:
        """Advance the machine's memory and CPU with the disks, finely while they move: swap
        IO joins the workload on the disks, an OOM reboots the machine, a load holds CPUs."""
        host, model = project.host, project.model
        if not host.active and host.load_cpus <= 0:
            self._advance_steady(project, start, seconds)
            return
        at, end = start, start + seconds
        while end - at > 1e-9:
            step = min(end - at, HOST_STEP_S)
            if host.advance(at, step):
                model.reboot()
            model.cpu_wait_s = host.cpu_wait_s()
            wish = model.demand
            if host.swap_mbps > 0:
                model.demand = replace(wish, read_mbps=wish.read_mbps + host.swap_mbps)
            idle = model.cpu.idle
            self._advance_steady(project, at, step)
            model.demand = wish
            host.account_cpu(model.cpu, model.cpu.idle - idle, step)
            at += step

    def _advance_steady(self, project: SimProject, start: float, seconds: float) -> None:
        host = project.host
        outside = self._down_outside_model(project) or host.down(start) or host.cpu_failing()
        failing_before = project.model.failing_seconds_total
        project.model.advance(seconds)
        project.lowest_budget = min(project.lowest_budget, project.model.budget_ratio)
        if outside:
            project.downtime_s += seconds
        else:
            project.downtime_s += project.model.failing_seconds_total - failing_before

    def _finish_resize(self, project: SimProject) -> None:
        if project.resize_to is not None:
            project.host.resize(project.resize_to)
            project.model.cpu_wait_s = 0.0
            project.model.set_tier(project.resize_to)
            project.pools.restart(project.resize_to)
            project.auth.restart()
            project.model.cpu_wait_s = project.host.cpu_wait_s()
            project.lowest_budget = project.model.budget_ratio
        project.resize_until = None
        project.resize_to = None

    def _down_outside_model(self, project: SimProject) -> bool:
        """Something other than the disks has a service down (outage, pause, resize, fault)."""
        if self.platform_outage or project.paused or project.resizing:
            return True
        return bool(project.faults & _SERVICES)

    def down(self, ref: str) -> list[str]:
        """The services truly down now (db/rest/auth), from the world's point of view.

        A service whose requests would take FAIL_LATENCY_S or more is down; a slow one is not.
        """
        project = self.projects[ref]
        rebooting = project.host.down(self.clock.monotonic())
        if self.platform_outage or project.paused or project.resizing or rebooting:
            return list(SERVICES)
        down = [n for n in SERVICES if n in project.faults or project.model.failing(n)]
        if "db" in down and "rest" not in down:
            down.append("rest")  # PostgREST cannot answer without its database
        return [name for name in SERVICES if name in down]

    def status(self, ref: str) -> str:
        """The Management API project status (ACTIVE_HEALTHY even when nothing connects)."""
        project = self.projects[ref]
        if project.paused:
            return "INACTIVE"
        if project.resizing:
            return "RESIZING"
        return "ACTIVE_HEALTHY"

    def truth(self, ref: str) -> dict[str, Any]:
        """What is really going on with one project."""
        self.sync(ref)
        project = self.projects[ref]
        model = project.model
        return {
            "budget_ratio": model.budget_ratio,
            "bytes_ratio": model.bytes_balance.ratio,
            "iops_ratio": model.ops_balance.ratio,
            "tier": str(project.tier),
            "status": self.status(ref),
            "down": self.down(ref),
            "resizing": project.resizing,
            "throttled": model.throttled,
            "latency_s": {name: round(model.latency_s(name), 3) for name in SERVICES},
            "paused": project.paused,
            "downtime_s": project.downtime_s,
            "actual_read_mbps": model.actual_read_mbps,
            "actual_write_mbps": model.actual_write_mbps,
            "actual_iops": model.actual_iops,
            "true_limits_factor": model.true_limits_factor,
            "limits": model.limits,
            "restarts": model.restarts,
            "disk_gb": project.space.size_gb,
            "disk_used_ratio": project.space.used_ratio,
            "read_only": project.space.read_only,
            "read_only_s": project.space.read_only_time(self.clock.monotonic()),
            "disk_changes": list(project.space.grown),
            "connections": project.pools.used,
            "max_connections": project.pools.max_connections,
            "connections_full": project.pools.full,
            "memory_used_ratio": 1 - project.host.available_bytes / project.host.memory_bytes,
            "swap_used_gb": round(project.host.swap_bytes / HOST_GIB, 3),
            "ooms": len(project.host.ooms or []),
            "cpu_load": project.host.cpu_saturation,
        }

    def stats(self) -> dict[str, Any]:
        """Counters of the compute changes asked for and applied."""
        return {
            "patch_calls": self.patch_calls,
            "patch_attempts": self.patch_attempts,
            "emails": len(self.emails),
        }

    def resize(self, ref: str, tier: str, *, rollback: bool = False) -> None:
        """Start a compute change: RESIZING for resize_seconds, then ``tier`` with a full bucket."""
        self.sync()
        project = self.projects[ref]
        if not rollback:
            project.previous_tiers.append(project.tier)
            if self.changes and self.changes[-1]["project"] == ref:
                self.changes[-1]["applied"] = True
        if tier != project.tier and not self._in_event:
            self.api_resizes.append(
                {"at": self.clock.monotonic(), "project": ref, "tier": tier, "rollback": rollback}
            )
        self._start_resize(project, tier)

    def _start_resize(self, project: SimProject, tier: str) -> None:
        if tier == project.tier:
            return
        project.resize_to = tier
        project.resize_until = self.clock.monotonic() + self.resize_seconds

    def attempted(self, ref: str, tier: str) -> None:
        """A PATCH of the compute size arrived (applied or not): note what was true then."""
        self.sync(ref)
        project = self.projects.get(ref)
        if project is not None:
            self.changes.append(self._change(project, tier))

    def _change(self, project: SimProject, tier: str) -> dict[str, Any]:
        model = project.model
        return {
            "applied": False,
            "at_s": round(self.clock.monotonic(), 1),
            "project": project.ref,
            "from": str(project.tier),
            "to": tier,
            "platform_outage": self.platform_outage,
            "network_up": self.network_up,
            "paused": project.paused,
            "budget_ratio": round(model.budget_ratio, 4),
            "lowest_budget": round(project.lowest_budget, 4),
            "draining": model.draining,
            "throttled": model.throttled,
        }

    def _on_outside_resize(self, event: dict[str, Any]) -> None:
        """The dashboard changes the compute size: as a PATCH would, refused during a resize."""
        tier = str(event.get("tier"))
        if tier not in SIZES:
            raise ValueError(f"unknown compute size {tier!r}")
        for project in self._targets(event):
            refused = project.resizing
            self.outside_resizes.append(
                {
                    "at_s": round(self.clock.monotonic(), 1),
                    "project": project.ref,
                    "from": str(project.tier),
                    "to": tier,
                    "applied": not refused and tier != project.tier,
                    "budget_ratio": round(project.model.budget_ratio, 4),
                }
            )
            if not refused and tier != project.tier:
                project.previous_tiers.append(project.tier)
                self._start_resize(project, tier)

    def rollback_tier(self, ref: str) -> str:
        """The size a DELETE of the compute add-on returns to."""
        project = self.projects[ref]
        return project.previous_tiers.pop() if project.previous_tiers else "nano"

    def db_mode(self, ref: str) -> str:
        """How a database proxy in front of this project should behave: pass, stall or cut."""
        project = self.projects[ref]
        if self.platform_outage or project.paused or project.resizing:
            return "cut"
        if project.host.down(self.clock.monotonic()):
            return "cut"
        if project.model.failing("db") or "db" in project.faults:
            return "stall"
        return "pass"

    def db_delay(self, ref: str) -> float:
        """How long the database takes to answer one query now, seconds (the disks' queue)."""
        return self.projects[ref].model.latency_s("db")

    def apply(self, event: dict[str, Any]) -> None:
        """Apply a scenario event dict (kind=..., plus its keys; ``ref`` picks one project)."""
        self.sync()
        kind = event.get("kind")
        handler = getattr(self, f"_on_{kind}", None)
        if not isinstance(kind, str) or handler is None:
            raise ValueError(f"unknown event kind {kind!r}")
        self._in_event = True
        try:
            handler(event)
        finally:
            self._in_event = False

    def _targets(self, event: dict[str, Any]) -> list[SimProject]:
        ref = event.get("ref")
        if ref is None:
            return list(self.projects.values())
        if ref not in self.projects:
            raise ValueError(f"unknown project {ref!r}")
        return [self.projects[ref]]

    def _on_workload(self, event: dict[str, Any]) -> None:
        def iops(key: str) -> float | None:
            return None if event.get(key) is None else float(event[key])

        for project in self._targets(event):
            project.pattern = None
            project.model.set_demand(
                float(event.get("read_mbps", 0.0)),
                float(event.get("write_mbps", 0.0)),
                iops("read_iops"),
                iops("write_iops"),
            )

    def _on_pattern(self, event: dict[str, Any]) -> None:
        pattern = Pattern.of(event)
        for project in self._targets(event):
            project.pattern = pattern
            project.model.set_demand(*pattern.demand_at(self.clock.now()))

    def dns_txt(self, name: bytes, timeout: float = 5.0) -> bytes | None:
        """The world's DNS (a dkimpy ``dnsfunc``): its provider's DKIM record, nothing else."""
        return dns_txt(name, timeout)

    def _on_email(self, event: dict[str, Any]) -> None:
        for project in self._targets(event):
            raw = build_email(
                str(event.get("template", "other")),
                project.ref,
                spoofed=bool(event.get("spoofed", False)),
                at=self.clock.now(),
                to=self.email_to,
            )
            self.emails.append(raw)

    def _on_status_page(self, event: dict[str, Any]) -> None:
        indicator = str(event.get("indicator", "none"))
        if indicator not in INDICATORS:
            raise ValueError(f"unknown status page indicator {indicator!r}")
        self.status_indicator = indicator
        components = event.get("components")
        self.status_components = list(components) if components else None

    def _on_platform_outage(self, event: dict[str, Any]) -> None:
        self.platform_outage = bool(event.get("on", True))

    def _on_network(self, event: dict[str, Any]) -> None:
        self.network_up = bool(event.get("on", True))

    def _on_service(self, event: dict[str, Any]) -> None:
        name = str(event.get("name"))
        if name not in SERVICES:
            raise ValueError(f"unknown service {name!r}")
        for project in self._targets(event):
            if bool(event.get("up", False)):
                project.faults.discard(name)
            else:
                project.faults.add(name)

    def _on_mgmt_api(self, event: dict[str, Any]) -> None:
        fault = str(event.get("fault", "none"))
        if fault not in MGMT_FAULTS:
            raise ValueError(f"unknown management API fault {fault!r}")
        methods = event.get("methods")
        if isinstance(methods, str):
            methods = methods.split(",")
        if methods is not None and not isinstance(methods, list):
            raise ValueError("methods: a list of HTTP methods, or one comma-separated string")
        self.mgmt_fault = fault
        self.mgmt_fault_methods = (
            frozenset(str(m).strip().upper() for m in methods) if methods else None
        )

    def _on_quota(self, event: dict[str, Any]) -> None:
        """The organization over its quota of ``over`` (restricted), or lifted (the next
        billing cycle, an upgrade, the spend cap off): every project of it at once."""
        over = str(event.get("over", "egress"))
        self.restricted_by = over if bool(event.get("restricted", True)) else None

    def _on_token(self, event: dict[str, Any]) -> None:
        """The token presented is a scoped one lacking ``lacks`` (none: every permission)."""
        self.token_lacks = frozenset(str(p) for p in event.get("lacks", ()))

    def _on_disk(self, event: dict[str, Any]) -> None:
        """The workload's growth of ``/data`` (GB an hour), and the spend cap."""
        for project in self._targets(event):
            if "fill_gb_per_hour" in event:
                rate = float(event["fill_gb_per_hour"])
                if not rate >= 0:
                    raise ValueError("fill_gb_per_hour: 0 or more")
                project.space.fill_bytes_s = rate * GIB / HOUR_S
            if "spend_cap" in event:
                project.space.spend_cap = bool(event["spend_cap"])

    def _on_connections(self, event: dict[str, Any]) -> None:
        """A client leaking connections (``leak_per_hour``), or closed with them (``closed``)."""
        for project in self._targets(event):
            if "leak_per_hour" in event:
                rate = float(event["leak_per_hour"])
                if not rate >= 0:
                    raise ValueError("leak_per_hour: 0 or more")
                project.pools.leak_s = rate / HOUR_S
            if event.get("closed"):
                project.pools.leaked = 0.0

    def _on_auth_limit(self, event: dict[str, Any]) -> None:
        """GoTrue refusing ``refused_per_minute`` requests a minute on ``route`` (0: none);
        ``custom_smtp``: whether a custom SMTP server is set."""
        for project in self._targets(event):
            project.auth.set_rate(str(event["route"]), float(event.get("refused_per_minute", 0)))
            if "custom_smtp" in event:
                project.auth.custom_smtp = bool(event["custom_smtp"])

    def _on_memory(self, event: dict[str, Any]) -> None:
        """What the workload holds in memory (GB) and what a leak adds (GB an hour)."""
        for project in self._targets(event):
            if "work_gb" in event:
                work = float(event["work_gb"])
                if not work >= 0:
                    raise ValueError("work_gb: 0 or more")
                project.host.work_bytes = work * HOST_GIB
            if "leak_gb_per_hour" in event:
                leak = float(event["leak_gb_per_hour"])
                if not leak >= 0:
                    raise ValueError("leak_gb_per_hour: 0 or more")
                project.host.leak_bytes_s = leak * HOST_GIB / HOUR_S

    def _on_cpu(self, event: dict[str, Any]) -> None:
        """A CPU load, in CPUs (2.4 on a 2-CPU machine: more than it has)."""
        load = float(event.get("load_cpus", 0.0))
        if not load >= 0:
            raise ValueError("load_cpus: 0 or more")
        for project in self._targets(event):
            project.host.load_cpus = load
            project.model.cpu_wait_s = project.host.cpu_wait_s()

    def set_disk(self, ref: str, size_gb: int) -> str | None:
        """A ``POST .../config/disk`` for ``size_gb``: None when applied, else the refusal."""
        self.sync()
        project = self.projects[ref]
        space = project.space
        now = self.clock.monotonic()
        self.disk_attempts += 1
        if size_gb <= space.size_gb:
            return f"size_gb: {size_gb} is not above the current {space.size_gb} GB"
        if space.quota_left(now) <= 0:
            return "Failed to modify database disk: at most 4 disk changes in 24 hours"
        if space.spend_cap and size_gb > 8:
            return "Failed to modify database disk: the spend cap holds the disk at 8 GB"
        space.change(now, size_gb, "api")
        self.disk_calls += 1
        if not self._in_event:
            self.api_disk_changes.append({"at": now, "project": ref, "size_gb": size_gb})
        return None

    def disk_modified_at(self, ref: str) -> datetime | None:
        """When the project's disk last changed, on the wall clock."""
        changes = self.projects[ref].space.changes
        return self._wall(changes[-1]) if changes else None

    def mgmt_fault_for(self, method: str) -> str:
        """The management API fault a request with this HTTP method meets ("none" if spared)."""
        if self.mgmt_fault_methods is not None and method.upper() not in self.mgmt_fault_methods:
            return "none"
        return self.mgmt_fault

    def _on_project(self, event: dict[str, Any]) -> None:
        state = str(event.get("state"))
        if state not in ("active", "paused"):
            raise ValueError(f"unknown project state {state!r}")
        for project in self._targets(event):
            project.paused = state == "paused"


def create_app(
    world: SimWorld, *, token: str | None = None, service_key: str = "sim-service-key"
) -> Starlette:
    """The simulator's HTTP app (see sbwatch.sim.app)."""
    from sbwatch.sim.app import SIM_TOKEN  # the app imports this module
    from sbwatch.sim.app import create_app as build

    return build(world, token=token or SIM_TOKEN, service_key=service_key)
