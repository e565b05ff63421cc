"""The probes' tables of a project (``[projects.probes.KIND]``, ``[projects.db]``) and the
status page's (``[status_page]``): each starts from its kind's entry in the registry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from sbwatch.config.types import HttpUrl, Interval, PositiveDuration
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.probe_specs import REGISTRY
from sbwatch.core.results import ProbeKind


class ProbeSettings(_Model):
    """Schedule and thresholds of one probe of one project."""

    enabled: bool = True
    interval: PositiveDuration = timedelta(seconds=30)
    timeout: PositiveDuration = timedelta(seconds=10)
    slow_after: PositiveDuration | None = None
    """rest and auth: an answer slower than this counts as a failure (default 5 s)."""
    failures_before_down: int = Field(default=2, ge=1, le=100)
    successes_before_up: int = Field(default=1, ge=1, le=100)
    confirm_after: Interval = timedelta(seconds=5)
    """A failure is confirmed by running again this soon, not at the next interval ("never")."""
    expect_rows: str | None = Field(
        default=None, pattern=r"^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$"
    )
    """rest only: a table or view (``schema.name``) the REST API must answer at least one row
    of; broken row-level security answers 200 with no row, which alone reads as healthy."""


def default_probes() -> dict[ProbeKind, ProbeSettings]:
    """Every project probe of the registry, with its spec's interval, timeout and slow threshold."""
    return {
        kind: ProbeSettings(
            interval=spec.interval, timeout=spec.timeout, slow_after=spec.slow_after
        )
        for kind, spec in REGISTRY.items()
        if not spec.provider_wide
    }


def probe_defaults(value: Any) -> Any:
    """A configured probe table starts from its kind's spec: an unset timeout (or slow
    threshold) stays the kind's."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, table in value.items():
        spec = REGISTRY.get(ProbeKind(key)) if key in tuple(ProbeKind) else None
        if spec is not None and isinstance(table, dict):
            defaults = {"interval": spec.interval, "timeout": spec.timeout}
            out[key] = {**defaults, "slow_after": spec.slow_after, **table}
    return out


class DbProbeSettings(_Model):
    """How the db probe spares the watched server."""

    fresh_connection_every: int = Field(default=10, ge=1, le=10_000)
    """Prove connectability with a new connection every N runs; the rest reuse one connection."""
    connect_timeout: PositiveDuration = timedelta(seconds=5)


class StatusPageSettings(_Model):
    """The provider's statuspage.io page."""

    enabled: bool = True
    url: HttpUrl = "https://status.supabase.com"
    components: list[str] = Field(default_factory=lambda: ["Database", "REST API", "Auth"])
    interval: PositiveDuration = REGISTRY[ProbeKind.STATUS_PAGE].interval
    timeout: PositiveDuration = REGISTRY[ProbeKind.STATUS_PAGE].timeout
