"""The simulated provider's state: projects, their IO models, faults and compute changes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sbwatch.core.clock import Clock
from sbwatch.sim.emails import build_email
from sbwatch.sim.model import DiskIoModel

if TYPE_CHECKING:
    from starlette.applications import Starlette

SERVICES = ("db", "rest", "auth")
MGMT_FAULTS = ("none", "rate_limit", "error", "slow", "drop_after_apply")
"""drop_after_apply: a PATCH/DELETE is applied, then the connection closes without an answer."""
INDICATORS = ("none", "minor", "major", "critical")


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

    def __init__(self, clock: Clock, *, resize_seconds: float = 120.0, seed: int = 0) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.resize_seconds = resize_seconds
        self.projects: dict[str, SimProject] = {}
        self.patch_calls = 0
        self.patch_attempts = 0
        self.emails: list[bytes] = []
        self.email_to = "ops@sbwatch.test"
        self.platform_outage = False
        self.network_up = True
        self.mgmt_fault = "none"
        self.mgmt_fault_methods: frozenset[str] | None = None
        """The HTTP methods the fault hits (None: every method)."""
        self.status_indicator = "none"
        self.status_components: list[str] | None = None
        self._last = clock.monotonic()

    def add_project(self, ref: str, tier: str, budget_pct: float = 100.0) -> SimProject:
        """Create a project (ACTIVE_HEALTHY, idle) on ``tier`` with ``budget_pct`` % left."""
        self.sync()
        project = SimProject(ref=ref, model=DiskIoModel(tier, budget_pct), name=f"sim-{ref[:6]}")
        self.projects[ref] = project
        return project

    def project(self, ref: str) -> SimProject:
        """A project by ref; KeyError when unknown."""
        return self.projects[ref]

    def sync(self) -> None:
        """Advance every model to clock.now() (called by every request)."""
        now = self.clock.monotonic()
        for project in self.projects.values():
            start = self._last
            if project.resize_until is not None and project.resize_until <= now:
                self._advance(project, start, project.resize_until)
                start = project.resize_until
                self._finish_resize(project)
            self._advance(project, start, now)
        self._last = now

    def _advance(self, project: SimProject, start: float, end: float) -> None:
        seconds = max(0.0, end - start)
        if self.down(project.ref):
            project.downtime_s += seconds
        project.model.advance(seconds)

    def _finish_resize(self, project: SimProject) -> None:
        if project.resize_to is not None:
            project.model.set_tier(project.resize_to)
        project.resize_until = None
        project.resize_to = None

    def down(self, ref: str) -> list[str]:
        """The services truly down now (db/rest/auth), from the world's point of view."""
        project = self.projects[ref]
        if self.platform_outage or project.paused or project.resizing:
            return list(SERVICES)
        if project.model.overloaded:
            return list(SERVICES)
        down = [name for name in SERVICES if name in project.faults]
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
        self.sync()
        project = self.projects[ref]
        return {
            "budget_ratio": project.model.budget_ratio,
            "tier": str(project.tier),
            "status": self.status(ref),
            "down": self.down(ref),
            "resizing": project.resizing,
            "overloaded": project.model.overloaded,
            "paused": project.paused,
            "downtime_s": project.downtime_s,
            "actual_read_mbps": project.model.actual_read_mbps,
            "actual_write_mbps": project.model.actual_write_mbps,
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
        if tier == project.tier:
            return
        project.resize_to = tier
        project.resize_until = self.clock.monotonic() + self.resize_seconds

    def rollback_tier(self, ref: str) -> str:
        """The size a DELETE of the compute add-on returns to."""
        project = self.projects[ref]
        return project.previous_tiers.pop() if project.previous_tiers else "nano"

    def db_mode(self, ref: str) -> str:
        """How a database proxy in front of this project should behave: pass, stall or cut."""
        project = self.projects[ref]
        if self.platform_outage or project.paused or project.resizing:
            return "cut"
        if project.model.overloaded or "db" in project.faults:
            return "stall"
        return "pass"

    def apply(self, event: dict[str, Any]) -> None:
        """Apply a scenario event dict (kind=..., plus its keys; ``ref`` picks one project)."""
        self.sync()
        kind = event.get("kind")
        handler = getattr(self, f"_on_{kind}", None)
        if not isinstance(kind, str) or handler is None:
            raise ValueError(f"unknown event kind {kind!r}")
        handler(event)

    def _targets(self, event: dict[str, Any]) -> list[SimProject]:
        ref = event.get("ref")
        if ref is None:
            return list(self.projects.values())
        if ref not in self.projects:
            raise ValueError(f"unknown project {ref!r}")
        return [self.projects[ref]]

    def _on_workload(self, event: dict[str, Any]) -> None:
        for project in self._targets(event):
            read = float(event.get("read_mbps", 0.0))
            write = float(event.get("write_mbps", 0.0))
            project.model.set_demand(read, write)

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
    world: SimWorld, *, token: str = "sbp_sim_token", service_key: str = "sim-service-key"
) -> Starlette:
    """The simulator's HTTP app (see sbwatch.sim.app)."""
    from sbwatch.sim.app import create_app as build  # the app imports this module

    return build(world, token=token, service_key=service_key)
