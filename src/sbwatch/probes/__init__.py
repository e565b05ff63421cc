"""The probes: one module a probe, built from its entry in the registry.

The registry itself (``sbwatch.core.probe_specs``) is data the configuration reads too; this
package turns an entry into a running probe. A probe's module imports only when a probe of its
kind is built, so a command that only reads the configuration needs none of their libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sbwatch.core.probe_specs import REGISTRY, ProbeSpec
from sbwatch.core.results import ProbeKind
from sbwatch.probes.base import Probe, ProbeContext


def probe_class(spec: ProbeSpec) -> Callable[[ProbeContext], Probe]:
    """The class a spec names, imported on first use."""
    module, _, name = spec.implementation.partition(":")
    cls: Callable[[ProbeContext], Probe] = getattr(importlib.import_module(module), name)
    return cls


def build_probe(kind: ProbeKind, ctx: ProbeContext) -> Probe:
    """A probe of ``kind`` for the context's project; KeyError for a kind with no probe."""
    try:
        spec = REGISTRY[kind]
    except KeyError:
        raise KeyError(f"no probe registered for {kind!s}") from None
    return probe_class(spec)(ctx)


def timeout_for(ctx: ProbeContext, kind: ProbeKind) -> float:
    """The configured timeout of one probe kind, in seconds."""
    from sbwatch.probes._common import timeout_s  # httpx, when a probe runs

    return timeout_s(ctx, REGISTRY[kind])


__all__ = [
    "REGISTRY",
    "Probe",
    "ProbeContext",
    "ProbeSpec",
    "build_probe",
    "probe_class",
    "timeout_for",
]
