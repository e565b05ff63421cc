"""The probe registry: one line per probe kind, mapping it to its class."""

from __future__ import annotations

from collections.abc import Callable

from sbwatch.core.results import ProbeKind
from sbwatch.probes._common import timeout_s
from sbwatch.probes.auth import AuthProbe
from sbwatch.probes.base import Probe, ProbeContext
from sbwatch.probes.db import DbProbe
from sbwatch.probes.metrics import MetricsProbe
from sbwatch.probes.mgmt_health import MgmtHealthProbe
from sbwatch.probes.rest import RestProbe
from sbwatch.probes.status_page import StatusPageProbe

PROBES: dict[ProbeKind, Callable[[ProbeContext], Probe]] = {
    ProbeKind.DB: DbProbe,
    ProbeKind.REST: RestProbe,
    ProbeKind.AUTH: AuthProbe,
    ProbeKind.MGMT_HEALTH: MgmtHealthProbe,
    ProbeKind.METRICS: MetricsProbe,
    ProbeKind.STATUS_PAGE: StatusPageProbe,
}


def build_probe(kind: ProbeKind, ctx: ProbeContext) -> Probe:
    """A probe of ``kind`` for the context's project; KeyError for a kind with no probe."""
    try:
        factory = PROBES[kind]
    except KeyError:
        raise KeyError(f"no probe registered for {kind!s}") from None
    return factory(ctx)


__all__ = ["PROBES", "Probe", "ProbeContext", "build_probe", "timeout_s"]
