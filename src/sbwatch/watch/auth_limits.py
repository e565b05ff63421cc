"""The auth rate limits inside the watcher: GoTrue's 429s of each scrape, the assessment, the
warning.

Readings come with the metrics scrape (``IoSample.auth_refused``) and are kept in memory for
the assessment's window; the auth configuration (``GET .../config/auth``), when read, adds the
configured limits and whether a custom SMTP server is set. sbwatch pulls no lever here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sbwatch.alerting.words import AUTH_LIMITS_NAME, auth_limits_lines, auth_limits_title
from sbwatch.core.errors import ApiError
from sbwatch.core.log import get_logger
from sbwatch.core.results import IoSample, Severity, plain
from sbwatch.core.subjects import Subject
from sbwatch.policy.alerts import Condition
from sbwatch.policy.auth_limits import KEEP, AuthAssessment, AuthPoint, assess
from sbwatch.store.base import StateStore, Store
from sbwatch.store.docs import Slot, field, moment, reading, slot
from sbwatch.supabase.auth_limits import AuthConfig
from sbwatch.watch.readings import keep_reading, save_report

if TYPE_CHECKING:  # status reads the report without loading the HTTP and metrics libraries
    from sbwatch.core.metrics import Metrics
    from sbwatch.watch.runtime import ProjectRuntime

"""The alert subject of the auth rate limits."""
NAMESPACE = "auth_limits"
"""Store state namespace of each project's last assessment (read by ``sbwatch status``)."""


@dataclass(frozen=True, slots=True)
class RouteRate:
    """A route refusing: its 429s a minute (rounded to a tenth, as stored)."""

    route: str
    per_minute: float

    def to_doc(self) -> dict[str, Any]:
        """``{"route": "token", "per_minute": 12.5}``."""
        return plain(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RouteRate:
        """The inverse of :meth:`to_doc`."""
        return cls(field(doc, "route", str), field(doc, "per_minute", int, float))


@dataclass(frozen=True, slots=True)
class AuthReport:
    """The stored form of an assessment: each route refusing, and the ones warned about."""

    at: datetime
    routes: tuple[RouteRate, ...]
    limited: tuple[str, ...]

    @classmethod
    def of(cls, a: AuthAssessment) -> AuthReport:
        """What status shows of an assessment."""
        routes = tuple(RouteRate(s.route, round(s.per_minute, 1)) for s in a.routes)
        return cls(a.at, routes, tuple(a.limited))

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "at": self.at.isoformat(),
            "routes": [r.to_doc() for r in self.routes],
            "limited": list(self.limited),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> AuthReport:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""

        def build() -> AuthReport:
            limited = field(doc, "limited", list)
            if not all(isinstance(route, str) for route in limited):
                raise TypeError("'limited' holds a route that is not a str")
            return cls(
                moment(doc, "at"),
                tuple(RouteRate.from_doc(r) for r in field(doc, "routes", list)),
                tuple(limited),
            )

        return reading("auth limits report", build)


def auth_limits_slot(ref: str) -> Slot[AuthReport]:
    """Where a project's last assessment is kept."""
    return slot(NAMESPACE, ref, AuthReport)


async def auth_limits_report(store: StateStore, ref: str) -> dict[str, Any] | None:
    """The project's last stored assessment (None before two scrapes with GoTrue's series)."""
    report = await auth_limits_slot(ref).read(store)
    return None if report is None else report.to_doc()


class AuthFlow:
    """Keeps, assesses and warns about the auth rate limits of the watcher's projects."""

    def __init__(self, metrics: Metrics, store: Store) -> None:
        self.metrics = metrics
        self.store = store
        self.points: dict[str, list[AuthPoint]] = {}
        self.assessments: dict[str, AuthAssessment | None] = {}
        self.configs: dict[str, AuthConfig] = {}
        self._said: dict[str, tuple[str, ...]] = {}
        self._saved: dict[str, dict[str, Any]] = {}
        self._gauged: dict[str, set[str]] = {}
        self._log = get_logger("auth_limits")

    def fold(self, ref: str, sample: IoSample) -> None:
        """Keep the 429 counters of one scrape."""
        if sample.auth_refused is not None:
            points = self.points.setdefault(ref, [])
            keep_reading(points, AuthPoint(sample.at, dict(sample.auth_refused)), KEEP)

    def last(self, ref: str) -> object:
        """What the assessment reads that changes between scrapes (the replay compares it)."""
        points = self.points.get(ref) or []
        return (tuple(sorted(points[-1].refused.items())) if points else None, len(points))

    async def check(self, runtime: ProjectRuntime) -> AuthConfig | None:
        """Read the auth configuration; None when it cannot be read (401, 403, 429, any
        failure): the last one read stays, else the warning says what it does not know."""
        api = runtime.api
        if api is None:
            return None
        ref = runtime.settings.ref
        try:
            config = await api.get_auth_config(ref)
        except ApiError as exc:
            self._log.info("auth configuration not read", project=ref, error=str(exc))
            return None
        self.configs[ref] = config
        return config

    def assess(self, ref: str, now: datetime, *, answering: bool = True) -> AuthAssessment | None:
        """The routes refused now; the gauges follow.

        While auth does not answer (down in an outage), no 429 says nothing: the routes warned
        of stay as they were until auth answers again and its counters say otherwise."""
        if not answering and self._said.get(ref):
            return self.assessments.get(ref)
        found = assess(self.points.get(ref, []), now, self._said.get(ref, ()))
        self.assessments[ref] = found
        self._said[ref] = found.limited if found is not None else ()
        rates = {s.route: s.per_minute for s in found.routes} if found is not None else {}
        gauge = self.metrics.auth_rate_limited
        for route in self._gauged.get(ref, set()) - set(rates):
            gauge.labels(ref, route).set(0.0)
        for route, per_minute in rates.items():
            gauge.labels(ref, route).set(per_minute)
        self._gauged[ref] = self._gauged.get(ref, set()) | set(rates)
        return found

    async def save(self, ref: str) -> None:
        """Keep the assessment for ``sbwatch status`` when it changed (its time apart)."""
        found = self.assessments.get(ref)
        if found is not None:
            await save_report(self.store, auth_limits_slot(ref), AuthReport.of(found), self._saved)

    def condition(self, ref: str) -> Condition:
        """The auth rate limits condition of this cycle: a warning, never more."""
        found = self.assessments.get(ref)
        active = found is not None and bool(found.limited)
        return Condition(
            ref,
            Subject.AUTH_LIMITS,
            Severity.WARNING,
            auth_limits_title(found) if active and found is not None else AUTH_LIMITS_NAME,
            "\n".join(auth_limits_lines(found, ref, self.configs.get(ref)))
            if active and found is not None
            else "",
            active,
            cause="auth_limits:" + ",".join(found.limited) if active and found else "auth_limits",
        )
