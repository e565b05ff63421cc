"""The probe registry: one spec per probe kind, naming the class that implements it.

Adding a probe is one module (a class whose ``SPEC`` is its entry here), one entry here and
one test file; the configuration derives the probe's defaults and the secrets it needs from
its spec. The registry imports no probe module: a probe's libraries (httpx, asyncpg, the
Prometheus parser) load when the probe is built, not when a command reads the configuration.
"""

from __future__ import annotations

from datetime import timedelta

from sbwatch.core.results import ProbeKind
from sbwatch.probes.base import Probe, ProbeContext
from sbwatch.probes.spec import ProbeSpec

REGISTRY: dict[ProbeKind, ProbeSpec] = {
    spec.kind: spec
    for spec in (
        ProbeSpec(ProbeKind.DB, "sbwatch.probes.db:DbProbe", secrets=("db_dsn",)),
        ProbeSpec(
            ProbeKind.REST,
            "sbwatch.probes.rest:RestProbe",
            timeout=timedelta(seconds=20),
            secrets=("service_key",),
        ),
        ProbeSpec(ProbeKind.AUTH, "sbwatch.probes.auth:AuthProbe", secrets=("service_key",)),
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


def build_probe(kind: ProbeKind, ctx: ProbeContext) -> Probe:
    """A probe of ``kind`` for the context's project; KeyError for a kind with no probe."""
    try:
        spec = REGISTRY[kind]
    except KeyError:
        raise KeyError(f"no probe registered for {kind!s}") from None
    return spec.factory(ctx)


def timeout_for(ctx: ProbeContext, kind: ProbeKind) -> float:
    """The configured timeout of one probe kind, in seconds."""
    from sbwatch.probes._common import timeout_s  # httpx, when a probe runs

    return timeout_s(ctx, REGISTRY[kind])


__all__ = ["REGISTRY", "Probe", "ProbeContext", "ProbeSpec", "build_probe", "timeout_for"]
