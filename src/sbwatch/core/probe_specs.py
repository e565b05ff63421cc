"""The probe registry: one spec per probe kind, naming the class that implements it.

The registry is data, below every other part: the configuration derives each probe's defaults
and the secrets it needs from its spec, ``sbwatch.probes`` builds a probe from the class its
spec names, and what a probe's failure means (the service it speaks for, whether that is an
outage, whether a used-up IO budget throttles it) is read from its spec by the signals,
diagnosis, the alerts, uptime, the recovery check after a compute change and the replay.
Naming the class as text keeps a probe's libraries (httpx, asyncpg, the Prometheus parser)
unloaded until a probe is built, not when a command reads the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sbwatch.core.results import ProbeKind


class Counts(StrEnum):
    """How a probe's failure counts."""

    OUTAGE = "outage"
    """Its service is down as the people using it see it: diagnosis names it (service_down),
    it has an alert of its own and counts against uptime, and it must pass again before a
    compute change counts as recovered."""
    HEALTH = "health"
    """The provider's own report of the services' health (the Management API): evidence for
    diagnosis, never an outage of its own, but it too must pass before a compute change
    counts as recovered."""
    EVIDENCE = "evidence"
    """Evidence only (the metrics, the status page) or alerts of its own (data checks):
    never an outage, never waited for."""


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
    service: str | None = None
    """The service it speaks for, by the name diagnosis, alerts and uptime give it (``rest``:
    ``service_down`` naming rest, the alert ``rest is down``); None for a source of evidence."""
    counts: Counts = Counts.EVIDENCE
    """How its failure counts: an outage of its service, the provider's health report, or
    evidence only. A probe that speaks for a service counts as its outage."""
    throttled: bool = False
    """A used-up disk IO budget makes its service fail (the database and what reads it), so
    its failure with the budget empty is the budget's, not a fault of its own."""

    def __post_init__(self) -> None:
        if (self.service is not None) != (self.counts is Counts.OUTAGE):
            raise ValueError(f"{self.kind}: a probe that speaks for a service counts as outage")
        if self.throttled and self.service is None:
            raise ValueError(f"{self.kind}: only a service can be throttled")


SLOW_AFTER = timedelta(seconds=5)
"""REST and auth answering later than this are failing, not up (the timeout stays longer, to
see the provider's 522 after 20 s)."""

REGISTRY: dict[ProbeKind, ProbeSpec] = {
    spec.kind: spec
    for spec in (
        ProbeSpec(
            ProbeKind.DB,
            "sbwatch.probes.db:DbProbe",
            secrets=("db_dsn",),
            service="db",
            counts=Counts.OUTAGE,
            throttled=True,
        ),
        ProbeSpec(
            ProbeKind.REST,
            "sbwatch.probes.rest:RestProbe",
            timeout=timedelta(seconds=20),
            slow_after=SLOW_AFTER,
            secrets=("service_key",),
            service="rest",
            counts=Counts.OUTAGE,
            throttled=True,
        ),
        ProbeSpec(
            ProbeKind.AUTH,
            "sbwatch.probes.auth:AuthProbe",
            slow_after=SLOW_AFTER,
            secrets=("service_key",),
            service="auth",  # its health check barely touches the disks: not throttled
            counts=Counts.OUTAGE,
        ),
        ProbeSpec(
            ProbeKind.MGMT_HEALTH,
            "sbwatch.probes.mgmt_health:MgmtHealthProbe",
            interval=timedelta(seconds=30),
            secrets=("mgmt_token",),
            counts=Counts.HEALTH,
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


def service_probes() -> dict[ProbeKind, str]:
    """Each probe that speaks for a service, with its service, in registry order."""
    return {kind: spec.service for kind, spec in REGISTRY.items() if spec.service is not None}


def services() -> tuple[str, ...]:
    """The services the probes speak for, in registry order (db, rest, auth)."""
    return tuple(service_probes().values())


def throttled_services() -> frozenset[str]:
    """The services a used-up disk IO budget makes fail (db, rest)."""
    return frozenset(spec.service for spec in REGISTRY.values() if spec.throttled and spec.service)


def recovery_probes() -> tuple[ProbeKind, ...]:
    """The probes that must pass again before a compute change counts as recovered: every
    service's, and the provider's health report."""
    waited = (Counts.OUTAGE, Counts.HEALTH)
    return tuple(kind for kind, spec in REGISTRY.items() if spec.counts in waited)
