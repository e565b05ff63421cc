"""One watched project (``[[projects]]``): its keys and secrets, and its sections."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from sbwatch.config.backup import BackupSettings
from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.config.probes import DbProbeSettings, ProbeSettings, default_probes, probe_defaults
from sbwatch.config.resources import (
    BudgetSettings,
    CpuSettings,
    DiskSettings,
    EscalationSettings,
    MemorySettings,
)
from sbwatch.config.secrets import PgDsn, Secret, unreadable_dropped
from sbwatch.config.types import HttpUrl, ProjectRef, is_false
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.probe_specs import REGISTRY, ProbeSpec
from sbwatch.core.results import ProbeKind
from sbwatch.core.tiers import Tier


def _enabled(probe: Any) -> bool:
    """Whether a probe table (or ProbeSettings) leaves its probe on."""
    if isinstance(probe, dict):
        return not is_false(probe.get("enabled", True))
    return bool(getattr(probe, "enabled", True))


def _has_work(spec: ProbeSpec, project: Any) -> bool:
    """Whether a probe has something to do for a project (its raw table, or its settings)."""
    if spec.needs is None:
        return True
    work = project.get(spec.needs) if isinstance(project, dict) else getattr(project, spec.needs)
    return bool(work)


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
    probes: Annotated[dict[ProbeKind, ProbeSettings], BeforeValidator(probe_defaults)] = Field(
        default_factory=default_probes
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
        return unreadable_dropped(data, *(set().union(*needs.values()) - needed))

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
