"""The probe registry: one line per probe kind, naming the module's spec.

Adding a probe is one module (a class and its ``SPEC``), one line here and one test file;
the configuration derives the probe's defaults and the secrets it needs from its spec.
"""

from __future__ import annotations

from sbwatch.core.results import ProbeKind
from sbwatch.probes import auth, data, db, metrics, mgmt_health, rest, status_page
from sbwatch.probes._common import timeout_s
from sbwatch.probes.base import Probe, ProbeContext
from sbwatch.probes.spec import ProbeSpec

REGISTRY: dict[ProbeKind, ProbeSpec] = {
    spec.kind: spec
    for spec in (
        db.SPEC,
        rest.SPEC,
        auth.SPEC,
        mgmt_health.SPEC,
        metrics.SPEC,
        status_page.SPEC,
        data.SPEC,
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
    return timeout_s(ctx, REGISTRY[kind])


__all__ = ["REGISTRY", "Probe", "ProbeContext", "ProbeSpec", "build_probe", "timeout_for"]
