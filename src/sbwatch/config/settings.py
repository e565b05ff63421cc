"""Configuration: a TOML file, ``SBWATCH_*`` environment variables, and secrets from files.

Secrets may be written in the file as a reference instead of a value:
``"cred:NAME"`` reads ``$CREDENTIALS_DIRECTORY/NAME`` (systemd ``LoadCredential=``),
``"env:VAR"`` reads an environment variable and ``"file:/path"`` reads a file. A relative
``file:`` path or ``[state] path`` is relative to the configuration file's directory.
Every error is reported at once as ``location: message`` (see :func:`load_settings`).
"""

from __future__ import annotations

import contextvars
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sbwatch.config.checks import apprise_url_problem, toml_problem, unknown_key
from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.config.ha import HaSettings, store_on_a_watched_project
from sbwatch.config.oncall import MaintenanceSettings, escalation_problems, maintenance_problems
from sbwatch.config.tomlpos import TomlPositions, dotted
from sbwatch.config.types import Duration, PositiveDuration, TimeZoneName, positive, to_timedelta
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.cron import cron_trigger, shortest_gap
from sbwatch.core.durations import format_duration
from sbwatch.core.errors import ConfigError
from sbwatch.core.results import EscalationMode, ProbeKind, Severity
from sbwatch.probes import REGISTRY, ProbeSpec
from sbwatch.supabase.tiers import Tier, rank, spec

SYSTEM_CONFIG_DIR = Path("/etc/sbwatch")
SYSTEM_STATE_DIR = Path("/var/lib/sbwatch")
"""Where the unit's ``StateDirectory=sbwatch`` lives: the store of a configuration in
SYSTEM_CONFIG_DIR, for the service and for an operator's shell alike."""
DEFAULT_CONFIG_PATHS = (SYSTEM_CONFIG_DIR / "config.toml",)
_CONFIG_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config", default=None)
"""The directory of the file ``load_settings`` reads: relative paths in it are relative to it."""
_READ_SECRETS: contextvars.ContextVar[bool] = contextvars.ContextVar("read_secrets", default=True)
_WATCHING: contextvars.ContextVar[bool] = contextvars.ContextVar("watching", default=True)
"""Whether the file is read to watch its projects (the probes' secrets are then required)."""
"""False while ``load_settings(read_secrets=False)`` runs: references are checked, not read."""
_REFERENCE = re.compile(r"^(cred|env|file):.+$", re.DOTALL)


def _resolve_secret(value: Any) -> Any:
    if not isinstance(value, str) or (not _READ_SECRETS.get() and _REFERENCE.match(value)):
        return value
    scheme, _, rest = value.partition(":")
    if scheme == "cred" and rest:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ValueError(f"credential {rest!r} requested but $CREDENTIALS_DIRECTORY is not set")
        return _read_secret_file(Path(directory) / rest, f"credential {rest!r}")
    if scheme == "env" and rest:
        if rest not in os.environ:
            raise ValueError(f"environment variable {rest!r} is not set")
        return os.environ[rest]
    if scheme == "file" and rest:
        return _read_secret_file(beside_config(Path(rest)), f"secret file {rest!r}")
    return value


def beside_config(path: Path) -> Path:
    """``path``, taken relative to the configuration file's directory when it is relative."""
    base = _CONFIG_DIR.get()
    return path if path.is_absolute() or base is None else base / path


def _beside_config_or_none(path: Path | None) -> Path | None:
    return None if path is None else beside_config(path)


def default_state_path(config_dir: Path | None, environ: Mapping[str, str]) -> Path:
    """The SQLite store when ``[state] path`` is not set: the service's state directory, the
    system one for a configuration in /etc/sbwatch (an operator's shell opens the service's
    store), else the XDG state directory."""
    state_dir = environ.get("STATE_DIRECTORY")
    if state_dir:
        return Path(state_dir.split(":")[0]) / "sbwatch.db"
    if config_dir == SYSTEM_CONFIG_DIR:
        return SYSTEM_STATE_DIR / "sbwatch.db"
    xdg = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "sbwatch" / "sbwatch.db"


def _read_secret_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{what} cannot be read ({exc.strerror})") from None


def _unreadable_dropped(data: Any, *keys: str) -> Any:
    """``data`` without those secrets among ``keys`` that cannot be read: for a feature that is
    off, whose secrets are therefore not demanded."""
    if not isinstance(data, dict):
        return data
    kept = dict(data)
    for key in keys:
        if key in kept:
            try:
                _resolve_secret(kept[key])
            except ValueError:
                del kept[key]
    return kept


def _apprise_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    if not _READ_SECRETS.get() and _REFERENCE.match(url):
        return value  # not read, so not checked; ``check-config`` without --no-secrets does
    problem = apprise_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return value


def _http_url(value: SecretStr | None) -> SecretStr | None:
    url = value.get_secret_value() if value is not None else ""
    if value is None or (not _READ_SECRETS.get() and _REFERENCE.match(url)):
        return value
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _postgres_dsn(value: SecretStr) -> SecretStr:
    """A PostgreSQL URL (``postgresql://`` or ``postgres://``) that parses; the message never
    quotes the DSN, only its scheme."""
    dsn = value.get_secret_value()
    if not _READ_SECRETS.get() and _REFERENCE.match(dsn):
        return value  # not read, so not checked; ``check-config`` without --no-secrets does
    scheme, sep, _ = dsn.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        shown = (
            repr(scheme) if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,20}", scheme) else ""
        )
        raise ValueError(f"must be a postgresql:// URL{f' (not {shown})' if shown else ''}")
    try:
        urlsplit(dsn).port  # noqa: B018 -- a bad port or bracket raises here
    except ValueError:
        raise ValueError("is not a valid postgresql:// URL (host, port or brackets)") from None
    return value


def _never_or_duration(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "never":
        return None
    return to_timedelta(value)


def _positive_or_none(value: timedelta | None) -> timedelta | None:
    return None if value is None else positive(value)


Interval = Annotated[
    timedelta | None, BeforeValidator(_never_or_duration), AfterValidator(_positive_or_none)
]
"""A duration, or "never"."""
Secret = Annotated[SecretStr, BeforeValidator(_resolve_secret)]
PgDsn = Annotated[SecretStr, BeforeValidator(_resolve_secret), AfterValidator(_postgres_dsn)]
"""A secret PostgreSQL URL."""
RouteUrl = Annotated[SecretStr, AfterValidator(_apprise_url), BeforeValidator(_resolve_secret)]
"""An apprise URL that apprise itself accepts (a secret: it often carries a token)."""
Port = Annotated[int, Field(ge=0, le=65535)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]
ProjectRef = Annotated[str, Field(pattern=r"^[a-z0-9]{20}$")]


class ProbeSettings(_Model):
    """Schedule and thresholds of one probe of one project."""

    enabled: bool = True
    interval: PositiveDuration = timedelta(seconds=30)
    timeout: PositiveDuration = timedelta(seconds=10)
    failures_before_down: int = Field(default=2, ge=1, le=100)
    successes_before_up: int = Field(default=1, ge=1, le=100)
    confirm_after: Interval = timedelta(seconds=5)
    """A failure is confirmed by running again this soon, not at the next interval ("never")."""
    expect_rows: str | None = Field(
        default=None, pattern=r"^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$"
    )
    """rest only: a table or view (``schema.name``) the REST API must answer at least one row
    of; broken row-level security answers 200 with no row, which alone reads as healthy."""


def _default_probes() -> dict[ProbeKind, ProbeSettings]:
    """Every project probe of the registry, with its spec's interval and timeout."""
    return {
        kind: ProbeSettings(interval=spec.interval, timeout=spec.timeout)
        for kind, spec in REGISTRY.items()
        if not spec.provider_wide
    }


def _probe_defaults(value: Any) -> Any:
    """A configured probe table starts from its kind's spec: an unset timeout stays the kind's."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for key, table in value.items():
        spec = REGISTRY.get(ProbeKind(key)) if key in tuple(ProbeKind) else None
        if spec is not None and isinstance(table, dict):
            out[key] = {"interval": spec.interval, "timeout": spec.timeout, **table}
    return out


class DbProbeSettings(_Model):
    """How the db probe spares the watched server."""

    fresh_connection_every: int = Field(default=10, ge=1, le=10_000)
    """Prove connectability with a new connection every N runs; the rest reuse one connection."""
    connect_timeout: PositiveDuration = timedelta(seconds=5)


class TierLimits(_Model):
    """This project's own disk limits of one size, where they differ from the published."""

    baseline_mbps: float | None = Field(default=None, gt=0)
    max_mbps: float | None = Field(default=None, gt=0)
    baseline_iops: float | None = Field(default=None, gt=0)
    max_iops: float | None = Field(default=None, gt=0)


class BudgetSettings(_Model):
    """Disk IO budget estimation and its alert thresholds."""

    limits: dict[Tier, TierLimits] = Field(default_factory=dict)
    """Per size, limits that replace the published ones (``[projects.budget.limits.small]``)."""

    consumed_pct: float | None = Field(default=None, ge=0, le=100)
    """A known "Disk IO % consumed" reading from the dashboard; the estimator starts there."""
    warn_horizon: PositiveDuration = timedelta(hours=24)
    """Warn when the budget runs out within this at the current rate (no pattern known yet)."""
    plan_notice: bool = False
    """Once a week, say when the last two weeks' disk IO fits another size than today's."""
    pattern_warn_horizon: PositiveDuration = timedelta(days=3)
    """Warn when the week's learned pattern runs the budget out within this: a slow drain is
    told days ahead, and a daily refill never cries wolf in the morning."""
    critical_horizon: PositiveDuration = timedelta(hours=1)
    low_ratio: float = Field(default=0.2, ge=0, le=1)
    smoothing: PositiveDuration = timedelta(minutes=30)


class EscalationSettings(_Model):
    """What sbwatch may do about the compute size of one project."""

    mode: EscalationMode = EscalationMode.ASK
    max_tier: Tier = Tier.SMALL
    monthly_cost_cap_usd: float = Field(default=30.0, ge=0)
    cooldown: Duration = timedelta(hours=1)
    max_steps: int = Field(default=1, ge=1, le=8)
    escalate_within: PositiveDuration = timedelta(hours=2)
    """Escalate when the budget forecast runs out within this (or it is exhausted)."""
    verify_timeout: PositiveDuration = timedelta(minutes=15)
    size_check: PositiveDuration = timedelta(minutes=10)
    """How often the compute size is read from the provider (a resize made elsewhere)."""


class DiskSettings(_Model):
    """The disk space of one project's ``/data``: when to warn, and what sbwatch may grow.

    The lever follows ``escalation.mode`` (off, ask, auto) and ``monthly_cost_cap_usd`` (which
    bounds the compute size and the disk together) and its cooldown.
    """

    check: PositiveDuration = timedelta(minutes=10)
    """How often the disk's size, use and last change are read from the Management API."""
    warn_within: PositiveDuration = timedelta(hours=48)
    """Warn when the database would go read-only within this."""
    critical_within: PositiveDuration = timedelta(hours=6)
    """Page when it would go read-only within this."""
    grow_within: PositiveDuration = timedelta(hours=24)
    """Grow the disk (or propose it, in ask mode) when read-only comes within this."""
    headroom: PositiveDuration = timedelta(days=3)
    """A grown disk holds this long of the current fill under 80% full."""
    max_gb: int = Field(default=100, ge=1)
    """The largest disk sbwatch grows to by itself."""
    spend_cap: bool = False
    """The organization's spend cap is on: the disk does not grow past 8 GB."""


class MemorySettings(_Model):
    """Memory and swap of one project: how long RAM must stay high, how far a leak is told."""

    sustain: PositiveDuration = timedelta(minutes=15)
    """RAM above 75% used for this long is "consistently": the size is too small."""
    warn_within: PositiveDuration = timedelta(hours=24)
    """Warn when a leak (free memory falling steadily) runs the machine out within this."""


class CpuSettings(_Model):
    """The CPUs of one project."""

    sustain: PositiveDuration = timedelta(minutes=15)
    """Busy above 90% (iowait apart) for this long: the CPUs are saturated."""


def _cron(value: str) -> str:
    try:
        cron_trigger(value)
    except ValueError as exc:
        raise ValueError(
            f"invalid schedule {value!r} ({exc}): write five cron fields, minute hour day "
            "month weekday, like '30 3 * * *'"
        ) from None
    return " ".join(value.split())


CronExpr = Annotated[str, AfterValidator(_cron)]


class BackupSettings(_Model):
    """The daily backup of one project: when, what, where, how long kept, how often restored."""

    enabled: bool = True
    dir: Path | None = None
    """Backups go to ``DIR/REF/``; default ``$STATE_DIRECTORY/backups`` or the XDG state dir."""
    schedule: CronExpr = "30 3 * * *"
    timezone: TimeZoneName = None
    """Of the schedule and of the file names' dates; default the system's local time zone."""
    retention: PositiveDuration = timedelta(days=30)
    schemas: list[str] | None = None
    """None: every user schema (the provider's own schemas left out)."""
    provider_schemas: list[str] = Field(default_factory=list)
    """The provider's own schemas to include as well, such as ``auth`` and ``storage``."""
    format: Literal["custom", "directory"] = "custom"
    verify: Interval = timedelta(days=7)
    """Restore a fresh backup when the last verified one is older than this; "never": not."""
    verify_dsn: PgDsn | None = None
    """A scratch server the restore goes into; default: the local server."""
    pg_dump: Path | None = None
    """Default: the Debian binary of the server's major version, else ``pg_dump`` on PATH."""
    pg_restore: Path | None = None
    """Default: beside pg_dump, else ``pg_restore`` on PATH."""
    timeout: PositiveDuration = timedelta(hours=1)
    defer_max: Duration = timedelta(hours=6)
    """How long a backup waits for the IO budget before it runs anyway."""
    max_age: PositiveDuration = timedelta(hours=26)
    """Alert when the newest backup is older than this."""

    def base_dir(self) -> Path:
        """The directory holding one sub-directory per project."""
        if self.dir is not None:
            return self.dir
        state_dir = os.environ.get("STATE_DIRECTORY")
        if state_dir:
            return Path(state_dir.split(":")[0]) / "backups"
        xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(xdg) / "sbwatch" / "backups"


def _enabled(probe: Any) -> bool:
    """Whether a probe table (or ProbeSettings) leaves its probe on."""
    if isinstance(probe, dict):
        return not _is_false(probe.get("enabled", True))
    return bool(getattr(probe, "enabled", True))


def _has_work(spec: ProbeSpec, project: Any) -> bool:
    """Whether a probe has something to do for a project (its raw table, or its settings)."""
    if spec.needs is None:
        return True
    work = project.get(spec.needs) if isinstance(project, dict) else getattr(project, spec.needs)
    return bool(work)


def _is_false(value: Any) -> bool:
    """A value pydantic reads as False (from TOML or from the environment's text)."""
    return value is False or str(value).lower() in {"false", "0", "no", "off", "f", "n"}


def _objective(value: float) -> float:
    """An availability objective: a percentage above 0 and below 100."""
    if not 0 < value < 100:
        raise ValueError(f"must be a percentage above 0 and below 100, like 99.9 (got {value:g})")
    return value


class ProjectSettings(_Model):
    """One watched Supabase project."""

    ref: ProjectRef
    name: str | None = None
    tier: Tier | None = None
    region: str | None = None
    url: HttpUrl | None = None
    """Project base URL; default ``https://<ref>.supabase.co``."""
    dashboard_url: HttpUrl | None = None
    db_dsn: PgDsn | None = None
    service_key: Secret | None = None
    anon_key: Secret | None = None
    """The project's public key: the rest probe's ``expect_rows`` asks with it when given, so
    row-level security applies as for the project's users (the service key bypasses it)."""
    mgmt_token: Secret | None = None
    probes: Annotated[dict[ProbeKind, ProbeSettings], BeforeValidator(_probe_defaults)] = Field(
        default_factory=_default_probes
    )
    db: DbProbeSettings = DbProbeSettings()
    budget: BudgetSettings = BudgetSettings()
    escalation: EscalationSettings = EscalationSettings()
    disk: DiskSettings = DiskSettings()
    memory: MemorySettings = MemorySettings()
    cpu: CpuSettings = CpuSettings()
    backup: BackupSettings | None = None
    """Backups are off unless ``[projects.backup]`` is present and enabled."""
    data_checks: list[DataCheckSettings] = Field(default_factory=list)
    """What the data probe checks; the probe runs only when there is at least one."""
    slo: Annotated[float, AfterValidator(_objective)] = 99.9
    """The availability objective of db, rest and auth, in percent over 30 days: the error
    budget is what it leaves (99.9: 43m12s in 30 days)."""
    data_checks_role: Literal["read_only", "any"] = "read_only"
    """``read_only``: ``check-config --online`` refuses a ``db_dsn`` role that is a superuser or
    can write, kill sessions or run programs; ``any`` says the operator accepts one."""

    @model_validator(mode="after")
    def _expect_rows_on_rest_only(self) -> ProjectSettings:
        for kind, probe in self.probes.items():
            if probe.expect_rows is not None and kind is not ProbeKind.REST:
                raise ValueError(f"probes.{kind}.expect_rows: only the rest probe reads rows")
        return self

    @model_validator(mode="after")
    def _dsn_for_backup(self) -> ProjectSettings:
        if self.backs_up and self.db_dsn is None:
            raise ValueError("db_dsn is required by the backup")
        return self

    @property
    def backs_up(self) -> bool:
        """Whether this project's backup is configured and enabled."""
        return self.backup is not None and self.backup.enabled

    @model_validator(mode="before")
    @classmethod
    def _secrets_of_disabled_probes(cls, data: Any) -> Any:
        """Secrets only enabled probes need are not demanded when those probes are off."""
        probes = data.get("probes") if isinstance(data, dict) else None
        if not isinstance(probes, dict):
            return data  # the defaults (or something invalid, reported on its own)
        # A probe with work to do (data checks) runs even when a probe table leaves it out.
        working = {str(kind) for kind, spec in REGISTRY.items() if _has_work(spec, data)}
        listed = {str(kind) for kind in probes}
        wanted = [kind for kind in working - listed if REGISTRY[ProbeKind(kind)].needs]
        added: dict[str, Any] = {kind: {} for kind in wanted}
        data = {**data, "probes": {**probes, **added}}
        enabled = {
            str(kind)
            for kind, value in data["probes"].items()
            if _enabled(value) and str(kind) in working
        }
        needs = {kind: set(spec.secrets) - {"mgmt_token"} for kind, spec in REGISTRY.items()}
        needed = {
            field for kind, fields in needs.items() if kind.value in enabled for field in fields
        }
        return _unreadable_dropped(data, *(set().union(*needs.values()) - needed))

    @property
    def display_name(self) -> str:
        """The name people see."""
        return self.name or self.ref

    @property
    def base_url(self) -> str:
        """Where REST, auth and the metrics endpoint live."""
        return (self.url or f"https://{self.ref}.supabase.co").rstrip("/")

    def enabled_probes(self) -> list[ProbeKind]:
        """Probe kinds this project runs, in registry order: on, and with work to do."""
        return [
            kind
            for kind in ProbeKind
            if kind in self.probes and self.probes[kind].enabled and _has_work(REGISTRY[kind], self)
        ]


class StatusPageSettings(_Model):
    """The provider's statuspage.io page."""

    enabled: bool = True
    url: HttpUrl = "https://status.supabase.com"
    components: list[str] = Field(default_factory=lambda: ["Database", "REST API", "Auth"])
    interval: PositiveDuration = REGISTRY[ProbeKind.STATUS_PAGE].interval
    timeout: PositiveDuration = REGISTRY[ProbeKind.STATUS_PAGE].timeout


class StateSettings(_Model):
    """Where sbwatch keeps its state."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Annotated[Path | None, AfterValidator(_beside_config_or_none)] = None
    """SQLite file; relative to the configuration file; default: see default_state_path."""
    dsn: PgDsn | None = None
    _config_dir: Path | None = PrivateAttr(default_factory=lambda: _CONFIG_DIR.get())

    @model_validator(mode="before")
    @classmethod
    def _dsn_only_for_postgres(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("backend", "sqlite") != "postgres":
            return _unreadable_dropped(data, "dsn")
        return data

    @model_validator(mode="after")
    def _dsn_for_postgres(self) -> StateSettings:
        if self.backend == "postgres" and self.dsn is None:
            raise ValueError("dsn is required when backend = 'postgres'")
        return self

    def sqlite_path(self) -> Path:
        """The SQLite file to use."""
        if self.path is not None:
            return self.path
        return default_state_path(self._config_dir, os.environ)

    def location(self) -> str:
        """Where the store is, for people: the SQLite file, or PostgreSQL (never the DSN)."""
        return str(self.sqlite_path()) if self.backend == "sqlite" else "PostgreSQL ([state] dsn)"


class MetricsSettings(_Model):
    """sbwatch's own Prometheus endpoint."""

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: Port = 9464


class MailSettings(_Model):
    """The mailbox the provider's emails arrive in."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 993
    security: Literal["tls", "starttls", "plain"] = "tls"
    verify_tls: bool = True
    ca_file: Path | None = None
    username: str = ""
    password: Secret | None = None
    mailbox: str = "INBOX"
    trusted_domains: list[str] = Field(default_factory=lambda: ["supabase.com", "supabase.io"])
    authserv_id: str | None = None
    """Trust the ``Authentication-Results`` headers this server adds; None: sbwatch verifies
    DKIM signatures itself (the default, and the safer rule)."""
    dkim_keys: dict[str, str] = Field(default_factory=dict)
    """DKIM keys pinned here instead of DNS: ``"selector._domainkey.domain"`` to its TXT record
    (``"v=DKIM1; k=rsa; p=..."``). For a mailbox the simulator fills; leave empty otherwise."""
    poll_interval: PositiveDuration = timedelta(minutes=1)
    idle_renew: PositiveDuration = timedelta(minutes=25)
    backfill: bool = False
    processed_folder: str | None = None
    flag_processed: bool = False

    @model_validator(mode="before")
    @classmethod
    def _password_only_when_enabled(cls, data: Any) -> Any:
        if isinstance(data, dict) and _is_false(data.get("enabled", False)):
            return _unreadable_dropped(data, "password")
        return data

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> MailSettings:
        if self.enabled and self.password is None:
            raise ValueError("password is required when mail is enabled")
        if self.security == "plain" and self.host not in {"127.0.0.1", "::1", "localhost"}:
            raise ValueError("security = 'plain' is only allowed for a loopback host")
        return self


class RouteSettings(_Model):
    """One notification route: an apprise URL and what goes to it."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    url: RouteUrl
    severities: list[Severity] = Field(default_factory=lambda: list(Severity))
    projects: list[str] = Field(default_factory=lambda: ["*"])


class SilenceSettings(_Model):
    """A maintenance window from the config: alerts still open and close, nothing is sent."""

    project: str = "*"
    starts: AwareDatetime
    ends: AwareDatetime
    reason: str = "maintenance"

    @model_validator(mode="after")
    def _ends_after_start(self) -> SilenceSettings:
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


class AlertingSettings(_Model):
    """Routing, reminders and the dead-man heartbeat."""

    routes: list[RouteSettings] = Field(default_factory=list)
    remind_warning: Interval = None
    """Re-send an open warning this often; "never" (the default): a warning is sent once, and
    a message follows only when it turns critical or resolves."""
    remind_critical: Interval = timedelta(hours=4)
    """Re-send an open critical this often, as a note at warning severity (its page was the
    open): the person is on it; a reminder after a long quiet, as Alertmanager's
    repeat_interval, not every hour."""
    min_duration: Duration = timedelta(seconds=30)
    """A warning must last this long before it alerts (criticals alert at once). A single
    failed probe never pages either way: it is confirmed by a second run first."""
    resolve_after: Duration = timedelta(minutes=5)
    """Healthy for this long before an alert closes."""
    heartbeat_url: Annotated[Secret | None, AfterValidator(_http_url)] = None
    retry_max: PositiveDuration = timedelta(minutes=10)
    silences: list[SilenceSettings] = Field(default_factory=list)
    escalate_after: Interval = None
    """Pass a critical page nobody acknowledged within this on to ``escalate_to`` (once)."""
    escalate_to: list[str] = Field(default_factory=list)
    """Route names (of [[alerting.routes]]) an unacknowledged critical is passed on to."""


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix="SBWATCH_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    mgmt_api_url: HttpUrl = "https://api.supabase.com"
    mgmt_token: Secret | None = None
    mgmt_token_expires: date | None = None
    """The day the Management API token expires (personal access tokens always do, at most a
    year out): sbwatch says so 30 and 7 days before, and when it has expired."""
    projects: list[ProjectSettings] = Field(default_factory=list)
    status_page: StatusPageSettings = StatusPageSettings()
    state: StateSettings = Field(default_factory=StateSettings)
    metrics: MetricsSettings = MetricsSettings()
    mail: MailSettings = MailSettings()
    alerting: AlertingSettings = AlertingSettings()
    ha: HaSettings = HaSettings()
    maintenance: list[MaintenanceSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_projects(self) -> Settings:
        problems: list[str] = []
        if self.ha.enabled and self.state.backend != "postgres":
            problems.append(
                "ha.enabled: high availability needs [state] backend = 'postgres', "
                "one store every instance shares"
            )
        if self.ha.share_projects and not self.ha.enabled:
            problems.append("ha.share_projects: sharing projects out needs [ha] enabled = true")
        seen: set[str] = set()
        for index, project in enumerate(self.projects):
            where = f"projects[{index}]"
            if project.ref in seen:
                problems.append(f"{where}.ref: duplicate project ref {project.ref!r}")
            seen.add(project.ref)
            names = [check.name for check in project.data_checks]
            for number, check in enumerate(project.data_checks):
                at = f"{where}.data_checks[{number}]"
                if check.name in names[:number]:
                    problems.append(f"{at}.name: duplicate data check name {check.name!r}")
                problems += [f"{at}.{problem}" for problem in check.problems()]
            for kind in project.enabled_probes() if _WATCHING.get() else ():
                for needed in REGISTRY[kind].secrets:
                    if self._secret(project, needed) is None:
                        problems.append(f"{where}.{needed}: required by the {kind} probe")
            if project.escalation.mode is EscalationMode.AUTO and not self.token_for(project):
                problems.append(f"{where}.mgmt_token: required by escalation mode 'auto'")
        problems += self._oncall_problems()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _oncall_problems(self) -> list[str]:
        """Maintenance windows and the escalation routes of unacknowledged criticals."""
        alerting = self.alerting
        return maintenance_problems(
            self.maintenance, [(p.ref, p.name) for p in self.projects]
        ) + escalation_problems(
            [r.name for r in alerting.routes], alerting.escalate_to, alerting.escalate_after
        )

    def _secret(self, project: ProjectSettings, name: str) -> SecretStr | None:
        """A secret a probe needs: the project's own, or for the token also the global one."""
        if name == "mgmt_token":
            return self.token_for(project)
        value = getattr(project, name)
        return value if isinstance(value, SecretStr) else None

    def token_for(self, project: ProjectSettings) -> SecretStr | None:
        """The Management API token of a project (its own, else the global one)."""
        return project.mgmt_token or self.mgmt_token

    def project(self, ref: str) -> ProjectSettings:
        """A configured project by ref, or by name as people call it (as ``silence`` takes
        it); KeyError naming it otherwise."""
        for project in self.projects:
            if project.ref == ref:
                return project
        for project in self.projects:
            if project.name is not None and project.name == ref:
                return project
        raise KeyError(f"no project {ref!r} in the configuration")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment variables override the file (passed as init values)."""
        return (env_settings, init_settings)


def default_config_path() -> Path:
    """``/etc/sbwatch/config.toml`` if present, else the XDG config dir's."""
    for path in DEFAULT_CONFIG_PATHS:
        if path.exists():
            return path
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "sbwatch" / "config.toml"


NO_PROJECTS = "projects: no [[projects]] table: there is nothing to watch"


def load_settings(
    path: Path | None = None,
    *,
    text: str | None = None,
    read_secrets: bool = True,
    require_projects: bool = False,
    watching: bool = True,
) -> Settings:
    """Read and validate the configuration; raise ConfigError listing every problem.

    With ``read_secrets=False`` secret references ("cred:", "env:", "file:") are taken as they
    are written: for checking a file away from the credentials it will run with.
    ``require_projects`` (the daemon and its check): an empty file or one without a project
    is a problem too; the other commands also work on a file that only names the state store.
    ``watching=False`` (commands that only use the store or the Management API, such as
    ``sql``): the secrets the probes need are not required.
    """
    source = "config"
    if text is None:
        path = path or default_config_path()
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: no such file"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_problem(source, exc)]) from None
    if require_projects and not data:
        raise ConfigError([f"{source}: empty; start from config.example.toml (every key)"])
    token = _READ_SECRETS.set(read_secrets)
    watch = _WATCHING.set(watching)
    directory = _CONFIG_DIR.set(None if path is None else path.absolute().parent)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = _problems(exc, text)
        if require_projects and not data.get("projects"):
            problems.append(NO_PROJECTS)
        raise ConfigError(problems) from None
    finally:
        _CONFIG_DIR.reset(directory)
        _READ_SECRETS.reset(token)
        _WATCHING.reset(watch)
    if require_projects and not settings.projects:
        raise ConfigError([NO_PROJECTS])
    return settings


def config_warnings(settings: Settings) -> list[str]:
    """What is valid but probably not meant: ``location: message`` lines."""
    return (
        _route_warnings(settings.alerting.routes)
        + _probe_warnings(settings.projects)
        + _store_warnings(settings)
        + _mail_warnings(settings.mail)
        + metrics_warnings(settings.metrics)
        + _cap_warnings(settings.projects)
        + _backup_warnings(settings.projects)
    )


def _cap_warnings(projects: list[ProjectSettings]) -> list[str]:
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
            f"projects[{index}].escalation.max_tier: {policy.max_tier} costs ${price:.2f}/month, "
            f"over monthly_cost_cap_usd (${policy.monthly_cost_cap_usd:.2f}): sbwatch raises to "
            f"{most}; raise the cap or lower max_tier"
        )
    return found


def _backup_warnings(projects: list[ProjectSettings]) -> list[str]:
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
                f"projects[{index}].backup.schedule: runs every {every}, more "
                "often than hourly: each run dumps the whole database and reads the disk IO "
                "budget down; daily (like '30 3 * * *') is the usual schedule"
            )
    return found


def metrics_warnings(metrics: MetricsSettings) -> list[str]:
    """The metrics and status server listening beyond this host: anyone who reaches it reads
    every project's state, and no Host check guards it there."""
    if not metrics.enabled or metrics.listen in ("127.0.0.1", "::1", "localhost"):
        return []
    if metrics.listen.startswith("127."):
        return []
    return [
        f"metrics.listen: {metrics.listen} is reachable beyond this host: the status page and"
        " the metrics are served to anyone who reaches it (keep 127.0.0.1 behind a proxy)"
    ]


def _probe_warnings(projects: list[ProjectSettings]) -> list[str]:
    """A project that runs no probe: [projects.probes.*] tables list the probes that run, so a
    lone table that turns one off turns every probe off."""
    return [
        f"projects[{index}].probes: no probe runs for {project.ref}: the [projects.probes.KIND] "
        "tables name the probes that run (list the ones you want, e.g. [projects.probes.rest])"
        for index, project in enumerate(projects)
        if not project.enabled_probes()
    ]


def _route_warnings(routes: list[RouteSettings]) -> list[str]:
    found = []
    if not routes:
        found.append("alerting.routes: no [[alerting.routes]]: alerts will go nowhere")
    elif not any(Severity.CRITICAL in route.severities for route in routes):
        found.append("alerting.routes: no route takes critical alerts: they will go nowhere")
    return found


def _store_warnings(settings: Settings) -> list[str]:
    found = []
    dsn = settings.state.dsn
    if settings.state.backend == "postgres" and dsn is not None:
        pairs = [
            (p.ref, p.db_dsn.get_secret_value() if p.db_dsn else None) for p in settings.projects
        ]
        ref = store_on_a_watched_project(dsn.get_secret_value(), pairs)
        if ref is not None:
            found.append(
                f"state.dsn: the state store is on the database of watched project {ref}: "
                "when that project fails, sbwatch loses its store, its lease and its outbox "
                "exactly when it is needed; use a database elsewhere"
            )
    return found


def _mail_warnings(mail: MailSettings) -> list[str]:
    found: list[str] = []
    if not mail.enabled:
        return found
    if mail.authserv_id is not None:
        found.append(
            f"mail.authserv_id: emails are trusted on the Authentication-Results header of "
            f"{mail.authserv_id} alone, not on a signature sbwatch verified: make sure that "
            "server adds it to every incoming email and removes the senders' own; without "
            "authserv_id sbwatch verifies DKIM itself"
        )
    if mail.dkim_keys:
        names = ", ".join(sorted(mail.dkim_keys))
        found.append(
            f"mail.dkim_keys: DKIM keys pinned in the configuration replace DNS for {names}: "
            "anyone holding their private keys can write trusted emails"
        )
    return found


def _problems(exc: ValidationError, text: str) -> list[str]:
    positions = TomlPositions(text)
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and loc:
            message = unknown_key(Settings, loc)
        for part in message.split("\n"):
            if re.match(r"^(projects\[\d+\]|ha|maintenance\[\d+\]|alerting)\.", part):
                where, _, msg = part.partition(": ")
                problems.append(positions.locate(where, msg))
            else:
                problems.append(positions.locate(dotted(loc), part))
    return problems
