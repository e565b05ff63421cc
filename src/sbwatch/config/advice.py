"""What is valid in a configuration but probably not meant, as located problems (warnings)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sbwatch.config.ha import store_on_a_watched_project
from sbwatch.core.cron import cron_trigger, shortest_gap
from sbwatch.core.durations import format_duration
from sbwatch.core.problems import Problem
from sbwatch.core.results import EscalationMode, Severity
from sbwatch.core.tiers import Tier, rank, spec

if TYPE_CHECKING:  # the whole configuration imports these checks
    from sbwatch.config.alerting import RouteSettings
    from sbwatch.config.daemon import MailSettings, MetricsSettings
    from sbwatch.config.project import ProjectSettings
    from sbwatch.config.settings import Settings


def config_warnings(settings: Settings) -> list[Problem]:
    """What is valid but probably not meant, each at its key's location."""
    return (
        _route_warnings(settings.alerting.routes)
        + _probe_warnings(settings.projects)
        + _store_warnings(settings)
        + _mail_warnings(settings.mail)
        + metrics_warnings(settings.metrics)
        + _cap_warnings(settings.projects)
        + _backup_warnings(settings.projects)
    )


def _cap_warnings(projects: list[ProjectSettings]) -> list[Problem]:
    """A ``max_tier`` the cost cap never lets sbwatch reach (the cap wins, silently otherwise)."""
    found = []
    for index, project in enumerate(projects):
        policy = project.escalation
        price = spec(policy.max_tier).monthly_usd
        if policy.mode is EscalationMode.OFF or price <= policy.monthly_cost_cap_usd:
            continue
        reachable = [
            t
            for t in Tier
            if rank(t) <= rank(policy.max_tier)
            and spec(t).monthly_usd <= policy.monthly_cost_cap_usd
        ]
        most = f"{reachable[-1]} at most" if reachable else "no size at all"
        found.append(
            Problem(
                f"projects[{index}].escalation.max_tier",
                f"{policy.max_tier} costs ${price:.2f}/month, over monthly_cost_cap_usd "
                f"(${policy.monthly_cost_cap_usd:.2f}): sbwatch raises to {most}; raise the cap "
                "or lower max_tier",
            )
        )
    return found


def _backup_warnings(projects: list[ProjectSettings]) -> list[Problem]:
    """A backup schedule that runs more often than hourly: each run dumps the whole database."""
    found = []
    for index, project in enumerate(projects):
        backup = project.backup
        if backup is None or not backup.enabled:
            continue
        trigger = cron_trigger(backup.schedule, backup.timezone)
        gap = shortest_gap(trigger, datetime.now(UTC), below=timedelta(hours=1))
        if gap is not None:
            every = format_duration(gap.total_seconds())
            found.append(
                Problem(
                    f"projects[{index}].backup.schedule",
                    f"runs every {every}, more often than hourly: each run dumps the whole "
                    "database and reads the disk IO budget down; daily (like '30 3 * * *') is "
                    "the usual schedule",
                )
            )
    return found


def metrics_warnings(metrics: MetricsSettings) -> list[Problem]:
    """The metrics and status server listening beyond this host: anyone who reaches it reads
    every project's state, and no Host check guards it there."""
    if not metrics.enabled or metrics.listen in ("127.0.0.1", "::1", "localhost"):
        return []
    if metrics.listen.startswith("127."):
        return []
    return [
        Problem(
            "metrics.listen",
            f"{metrics.listen} is reachable beyond this host: the status page and the metrics "
            "are served to anyone who reaches it (keep 127.0.0.1 behind a proxy)",
        )
    ]


def _probe_warnings(projects: list[ProjectSettings]) -> list[Problem]:
    """A project that runs no probe: [projects.probes.*] tables list the probes that run, so a
    lone table that turns one off turns every probe off."""
    return [
        Problem(
            f"projects[{index}].probes",
            f"no probe runs for {project.ref}: the [projects.probes.KIND] tables name the probes "
            "that run (list the ones you want, e.g. [projects.probes.rest])",
        )
        for index, project in enumerate(projects)
        if not project.enabled_probes()
    ]


def _route_warnings(routes: list[RouteSettings]) -> list[Problem]:
    found = []
    if not routes:
        found.append(Problem("alerting.routes", "no [[alerting.routes]]: alerts will go nowhere"))
    elif not any(Severity.CRITICAL in route.severities for route in routes):
        found.append(
            Problem("alerting.routes", "no route takes critical alerts: they will go nowhere")
        )
    return found


def _store_warnings(settings: Settings) -> list[Problem]:
    found = []
    dsn = settings.state.dsn
    if settings.state.backend == "postgres" and dsn is not None:
        pairs = [
            (p.ref, p.db_dsn.get_secret_value() if p.db_dsn else None) for p in settings.projects
        ]
        ref = store_on_a_watched_project(dsn.get_secret_value(), pairs)
        if ref is not None:
            found.append(
                Problem(
                    "state.dsn",
                    f"the state store is on the database of watched project {ref}: when that "
                    "project fails, sbwatch loses its store, its lease and its outbox exactly "
                    "when it is needed; use a database elsewhere",
                )
            )
    return found


def _mail_warnings(mail: MailSettings) -> list[Problem]:
    found: list[Problem] = []
    if not mail.enabled:
        return found
    if mail.authserv_id is not None:
        found.append(
            Problem(
                "mail.authserv_id",
                f"emails are trusted on the Authentication-Results header of {mail.authserv_id} "
                "alone, not on a signature sbwatch verified: make sure that server adds it to "
                "every incoming email and removes the senders' own; without authserv_id sbwatch "
                "verifies DKIM itself",
            )
        )
    if mail.dkim_keys:
        names = ", ".join(sorted(mail.dkim_keys))
        found.append(
            Problem(
                "mail.dkim_keys",
                f"DKIM keys pinned in the configuration replace DNS for {names}: anyone holding "
                "their private keys can write trusted emails",
            )
        )
    return found
