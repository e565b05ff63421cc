"""The probe registry: one spec per probe kind, naming the class that implements it.

The registry is data, below every other part: the configuration derives each probe's defaults
and the secrets it needs from its spec, and ``sbwatch.probes`` builds a probe from the class
its spec names. Naming the class as text keeps a probe's libraries (httpx, asyncpg, the
Prometheus parser) unloaded until a probe is built, not when a command reads the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sbwatch.core.results import ProbeKind


@dataclass(frozen=True)
class ProbeSpec:
    """One probe kind: which class runs it, how often it runs by default, what it needs."""

    kind: ProbeKind
    implementation: str
    """``module:Class`` of the probe, imported when a probe is built (``sbwatch.probes``)."""
    interval: timedelta = timedelta(seconds=30)
    timeout: timedelta = timedelta(seconds=10)
    slow_after: timedelta | None = None
    """An answer slower than this fails: a user waiting that long calls the service down, so
    does a person on call (None: only the timeout)."""
    secrets: tuple[str, ...] = ()
    """Project settings it cannot run without: ``db_dsn``, ``service_key``, ``mgmt_token``."""
    provider_wide: bool = False
    """One probe for the whole provider (the status page), configured outside the projects."""
    needs: str | None = None
    """A project setting (a list) that gives the probe its work, such as ``data_checks``: the
    probe runs when that list has entries (unless its probe table turns it off), and not at
    all, nor demands its secrets, when it is empty."""


SLOW_AFTER = timedelta(seconds=5)
"""REST and auth answering later than this are failing, not up (the timeout stays longer, to
see the provider's 522 after 20 s)."""

REGISTRY: dict[ProbeKind, ProbeSpec] = {
    spec.kind: spec
    for spec in (
        ProbeSpec(ProbeKind.DB, "sbwatch.probes.db:DbProbe", secrets=("db_dsn",)),
        ProbeSpec(
            ProbeKind.REST,
            "sbwatch.probes.rest:RestProbe",
            timeout=timedelta(seconds=20),
            slow_after=SLOW_AFTER,
            secrets=("service_key",),
        ),
        ProbeSpec(
            ProbeKind.AUTH,
            "sbwatch.probes.auth:AuthProbe",
            slow_after=SLOW_AFTER,
            secrets=("service_key",),
        ),
        ProbeSpec(
            ProbeKind.MGMT_HEALTH,
            "sbwatch.probes.mgmt_health:MgmtHealthProbe",
            interval=timedelta(seconds=30),
            secrets=("mgmt_token",),
        ),
        ProbeSpec(
            ProbeKind.METRICS,
            "sbwatch.probes.metrics:MetricsProbe",
            interval=timedelta(seconds=60),
            secrets=("service_key",),
        ),
        ProbeSpec(
            ProbeKind.STATUS_PAGE,
            "sbwatch.probes.status_page:StatusPageProbe",
            interval=timedelta(seconds=30),
            provider_wide=True,
        ),
        ProbeSpec(
            ProbeKind.DATA,
            "sbwatch.probes.data:DataProbe",
            interval=timedelta(minutes=1),
            timeout=timedelta(seconds=30),
            secrets=("db_dsn",),
            needs="data_checks",
        ),
    )
}
