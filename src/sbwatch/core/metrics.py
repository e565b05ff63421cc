"""sbwatch's own Prometheus metrics, in their own registry. The one module that defines them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from sbwatch import __version__
from sbwatch.core.connections import POOLS as CONNECTION_POOLS
from sbwatch.core.results import DataCheckResult, DiagnosisKind

NOTIFICATION_OUTCOMES = ("sent", "retry", "failed")
ESCALATION_OUTCOMES = ("applied", "failed", "unknown", "busy", "recovered", "unrecovered")
DISK_CHANGE_OUTCOMES = ("applied", "failed", "busy")


@dataclass
class Metrics:
    """Every metric sbwatch exports. Label values come from closed sets only."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _probe_series: dict[tuple[str, str], ProbeSeries] = field(
        default_factory=dict, init=False, repr=False
    )

    def probe_series(self, project: str, probe: str) -> ProbeSeries:
        """The labelled series of one (project, probe), looked up once."""
        key = (project, probe)
        found = self._probe_series.get(key)
        if found is None:
            found = self._probe_series[key] = ProbeSeries(
                self.probe_success.labels(project, probe),
                self.probe_up.labels(project, probe),
                self.probe_duration.labels(project, probe),
                {},
                lambda outcome: self.probe_runs.labels(project, probe, outcome),
            )
        return found

    def __post_init__(self) -> None:
        r = self.registry
        self.probe_success = Gauge(
            "sbwatch_probe_success",
            "1 if the last probe run succeeded.",
            ["project", "probe"],
            registry=r,
        )
        self.probe_up = Gauge(
            "sbwatch_probe_up",
            "Thresholded probe state: 1 up, 0 down, -1 unknown.",
            ["project", "probe"],
            registry=r,
        )
        self.probe_duration = Histogram(
            "sbwatch_probe_duration_seconds",
            "Duration of probe runs.",
            ["project", "probe"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
            registry=r,
        )
        self.probe_runs = Counter(
            "sbwatch_probe_runs_total",
            "Probe runs by outcome.",
            ["project", "probe", "outcome"],
            registry=r,
        )
        self.metrics_lines_skipped = Counter(
            "sbwatch_metrics_lines_skipped_total",
            "Lines of the project's metrics exposition that could not be read and were left out.",
            ["project"],
            registry=r,
        )
        self.io_budget_ratio = Gauge(
            "sbwatch_io_budget_ratio",
            "Estimated disk IO budget left, 0..1.",
            ["project"],
            registry=r,
        )
        self.io_budget_eta = Gauge(
            "sbwatch_io_budget_exhaustion_eta_seconds",
            "Forecast seconds until the disk IO budget is exhausted (+Inf when not draining).",
            ["project"],
            registry=r,
        )
        self.io_throughput = Gauge(
            "sbwatch_io_throughput_bytes_per_second",
            "Observed disk read+write rate.",
            ["project"],
            registry=r,
        )
        self.disk_used_ratio = Gauge(
            "sbwatch_disk_used_ratio",
            "Used share of the database disk (/data), 0..1.",
            ["project"],
            registry=r,
        )
        self.disk_read_only_eta = Gauge(
            "sbwatch_disk_read_only_eta_seconds",
            "Forecast seconds until the database goes read-only for a full disk, the provider's "
            "autoscaling counted (+Inf when not within the horizon, 0 when read-only).",
            ["project"],
            registry=r,
        )
        self.disk_autoscale_eta = Gauge(
            "sbwatch_disk_autoscale_eta_seconds",
            "Forecast seconds until the disk is 90% full (+Inf when not filling).",
            ["project"],
            registry=r,
        )
        self.connections_used = Gauge(
            "sbwatch_connections_used",
            "Connections in use per pool (direct: Postgres; rest: PostgREST's pool; pooler).",
            ["project", "pool"],
            registry=r,
        )
        self.connections_limit = Gauge(
            "sbwatch_connections_limit",
            "The limit of each pool: shown by the endpoint, else the size's.",
            ["project", "pool"],
            registry=r,
        )
        self.auth_rate_limited = Gauge(
            "sbwatch_auth_rate_limited_per_minute",
            "GoTrue's 429 answers a minute per route (auth rate limits), over the last scrape.",
            ["project", "route"],
            registry=r,
        )
        self.memory_used_ratio = Gauge(
            "sbwatch_memory_used_ratio",
            "Used share of the instance's RAM (not available), 0..1.",
            ["project"],
            registry=r,
        )
        self.swap_used_ratio = Gauge(
            "sbwatch_swap_used_ratio", "Used share of the instance's swap, 0..1.", ["project"],
            registry=r,
        )  # fmt: skip
        self.memory_oom_eta = Gauge(
            "sbwatch_memory_oom_eta_seconds",
            "Forecast seconds until a steady fall of free memory runs RAM and swap out (+Inf "
            "when memory is not falling steadily).",
            ["project"],
            registry=r,
        )
        self.cpu_busy_ratio = Gauge(
            "sbwatch_cpu_busy_ratio",
            "Busy share of the instance's CPUs over the last scrape interval, iowait apart, 0..1.",
            ["project"],
            registry=r,
        )
        self.disk_changes = Counter(
            "sbwatch_disk_changes_total", "Disk changes by outcome.", ["outcome"], registry=r
        )
        self.diagnosis = Gauge(
            "sbwatch_diagnosis",
            "1 for the current diagnosis kind of a project.",
            ["project", "kind"],
            registry=r,
        )
        self.emails = Counter(
            "sbwatch_emails_total",
            "Provider emails by kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.mail_watcher_up = Gauge(
            "sbwatch_mail_watcher_up",
            "1 while the mail watcher runs, 0 once it stopped (until it is started again).",
            registry=r,
        )
        self.notifications = Counter(
            "sbwatch_notifications_total", "Notifications by outcome.", ["outcome"], registry=r
        )
        self.escalations = Counter(
            "sbwatch_escalations_total", "Compute escalations by outcome.", ["outcome"], registry=r
        )
        self.recovery = Histogram(
            "sbwatch_recovery_seconds",
            "Seconds from a compute change to healthy services.",
            buckets=(30, 60, 120, 180, 240, 300, 600, 900, 1800),
            registry=r,
        )
        self.token_expiry = Gauge(
            "sbwatch_mgmt_token_expiry_timestamp_seconds",
            "Unix time the Management API token expires (mgmt_token_expires; 0 if not set).",
            registry=r,
        )
        self.store_up = Gauge(
            "sbwatch_store_up",
            "1 while the state store answers, 0 while it is away (alerts held in memory).",
            registry=r,
        )
        self.store_up.set(1)
        self.heartbeat = Gauge(
            "sbwatch_last_cycle_timestamp_seconds",
            "Unix time of the last completed evaluation cycle.",
            registry=r,
        )
        self.backup_last_success = Gauge(
            "sbwatch_backup_last_success_timestamp_seconds",
            "Unix time the newest complete backup was taken.",
            ["project"],
            registry=r,
        )
        self.backup_expected_since = Gauge(
            "sbwatch_backup_expected_since_timestamp_seconds",
            "Unix time this daemon started expecting the project's backups (its start).",
            ["project"],
            registry=r,
        )
        self.backup_bytes = Gauge(
            "sbwatch_backup_bytes",
            "Size of the newest complete backup archive.",
            ["project"],
            registry=r,
        )
        self.backup_duration = Gauge(
            "sbwatch_backup_duration_seconds",
            "Duration of the last successful backup run.",
            ["project"],
            registry=r,
        )
        self.backup_verify_ok = Gauge(
            "sbwatch_backup_verify_ok",
            "1 if the last restore check of a backup matched its manifest, 0 if not.",
            ["project"],
            registry=r,
        )
        self.data_check_value = Gauge(
            "sbwatch_data_check_value",
            "The number a data check read: rows (estimate), age in seconds, a sum, a query's.",
            ["project", "check"],
            registry=r,
        )
        self.data_check_ok = Gauge(
            "sbwatch_data_check_ok",
            "1 if the data check's last verdict was ok, 0 if not.",
            ["project", "check"],
            registry=r,
        )
        self.ha_leader = Gauge(
            "sbwatch_ha_leader",
            "1 while this instance leads (holds a fresh lease and acts), 0 on a standby.",
            registry=r,
        )
        self.ha_epoch = Gauge(
            "sbwatch_ha_epoch",
            "The fencing epoch of the lease this instance last led under (0: never led).",
            registry=r,
        )
        self.ha_projects = Gauge(
            "sbwatch_ha_projects",
            "How many projects this instance leads when instances share them out (0 otherwise).",
            registry=r,
        )
        self.availability = Gauge(
            "sbwatch_availability_ratio",
            "Time a service was up over the time known (maintenance left out), 0..1, by window.",
            ["project", "service", "window"],
            registry=r,
        )
        self.error_budget_remaining = Gauge(
            "sbwatch_error_budget_remaining_ratio",
            "Share of the 30-day error budget left (below 0: overspent).",
            ["project", "service"],
            registry=r,
        )
        self.availability_objective = Gauge(
            "sbwatch_availability_objective_ratio",
            "The project's availability objective (slo), 0..1.",
            ["project"],
            registry=r,
        )
        self.maintenance_in_force = Gauge(
            "sbwatch_maintenance_in_force",
            "1 while a maintenance window holds the project back, else 0.",
            ["project"],
            registry=r,
        )
        self.job_lag = Histogram(
            "sbwatch_job_lag_seconds",
            "How late scheduled jobs started, by job kind (probe, evaluate, size, ...).",
            ["job"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.build_info = Info("sbwatch_build", "sbwatch version.", registry=r)
        self.build_info.info({"version": __version__})
        # Every outcome is exported from the start at 0, so rate() and increase() see the
        # first failure instead of a series that appears already at 1.
        for outcome in NOTIFICATION_OUTCOMES:
            self.notifications.labels(outcome)
        for outcome in ESCALATION_OUTCOMES:
            self.escalations.labels(outcome)
        for outcome in DISK_CHANGE_OUTCOMES:
            self.disk_changes.labels(outcome)

    def forget_project(self, project: str) -> None:
        """Drop the gauges that say how one project is now: it moved to another instance,
        which exports them from here on (counters and histograms stay: they add up)."""
        keyed: list[tuple[Gauge, tuple[str, ...]]] = []
        for key in [key for key in self._probe_series if key[0] == project]:
            del self._probe_series[key]
            keyed += [(self.probe_success, key), (self.probe_up, key)]
        for gauge in (
            self.io_budget_ratio,
            self.io_budget_eta,
            self.io_throughput,
            self.disk_used_ratio,
            self.disk_read_only_eta,
            self.disk_autoscale_eta,
            self.memory_used_ratio,
            self.swap_used_ratio,
            self.memory_oom_eta,
            self.cpu_busy_ratio,
        ):
            keyed.append((gauge, (project,)))
        keyed += [(self.diagnosis, (project, kind.value)) for kind in DiagnosisKind]
        for pool in CONNECTION_POOLS:
            keyed += [
                (self.connections_used, (project, pool)),
                (self.connections_limit, (project, pool)),
            ]
        keyed += [
            (self.availability_objective, (project,)),
            (self.maintenance_in_force, (project,)),
        ]
        for gauge in (self.availability, self.error_budget_remaining, self.auth_rate_limited):
            keyed += [(gauge, labels) for labels in _series_of(gauge, project)]
        for gauge, labels in keyed:
            with contextlib.suppress(KeyError):
                gauge.remove(*labels)

    def record_data_checks(self, project: str, checks: Iterable[DataCheckResult]) -> None:
        """The value and verdict of each data check of one run (a check that could not read
        a number keeps its last value)."""
        for check in checks:
            self.data_check_ok.labels(project, check.name).set(1.0 if check.ok else 0.0)
            if check.value is not None:
                self.data_check_value.labels(project, check.name).set(check.value)


@dataclass
class ProbeSeries:
    """The series of one (project, probe): one dictionary lookup a run instead of four."""

    success: Gauge
    up: Gauge
    duration: Histogram
    _runs: dict[str, Counter]
    _make_runs: Callable[[str], Counter]

    def runs(self, outcome: str) -> Counter:
        """The run counter of one outcome."""
        found = self._runs.get(outcome)
        if found is None:
            found = self._runs[outcome] = self._make_runs(outcome)
        return found


def _series_of(gauge: Gauge, project: str) -> list[tuple[str, ...]]:
    """The label values of every series of ``gauge`` whose first label is ``project``."""
    return [
        tuple(sample.labels.values())
        for family in gauge.collect()
        for sample in family.samples
        if sample.labels.get("project") == project
    ]
