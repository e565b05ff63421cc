"""Configuration: a TOML file, ``SBWATCH_*`` environment variables, and secrets from files.

The whole file is :class:`Settings`; each section's model lives in a module of its own
(``project``, ``probes``, ``resources``, ``backup``, ``alerting``, ``daemon``, ``ha``,
``oncall``, ``data_checks``) and is named here too. Secrets may be written as references
(``sbwatch.config.secrets``). A relative ``file:`` path or ``[state] path`` is relative to the
configuration file's directory. Every error is reported at once as ``location: message`` (see
:func:`load_settings`); what is valid but probably not meant is told by ``advice``.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sbwatch.config.advice import config_warnings, metrics_warnings
from sbwatch.config.alerting import AlertingSettings, RouteSettings, SilenceSettings
from sbwatch.config.backup import BackupSettings
from sbwatch.config.checks import toml_problem, unknown_key
from sbwatch.config.daemon import (
    SYSTEM_CONFIG_DIR,
    SYSTEM_STATE_DIR,
    MailSettings,
    MetricsSettings,
    StateSettings,
    default_state_path,
)
from sbwatch.config.ha import HaSettings
from sbwatch.config.oncall import MaintenanceSettings, escalation_problems, maintenance_problems
from sbwatch.config.probes import DbProbeSettings, ProbeSettings, StatusPageSettings
from sbwatch.config.project import ProjectSettings
from sbwatch.config.resources import (
    BudgetSettings,
    CpuSettings,
    DiskSettings,
    EscalationSettings,
    MemorySettings,
    TierLimits,
)
from sbwatch.config.secrets import CONFIG_DIR, READ_SECRETS, PgDsn, RouteUrl, Secret, beside_config
from sbwatch.config.tomlpos import TomlPositions, dotted
from sbwatch.config.types import CronExpr, HttpUrl, Interval, Port, ProjectRef
from sbwatch.core.errors import ConfigError
from sbwatch.core.probe_specs import REGISTRY
from sbwatch.core.problems import Problem, under
from sbwatch.core.results import EscalationMode

__all__ = [
    "DEFAULT_CONFIG_PATHS",
    "NO_PROJECTS",
    "SYSTEM_CONFIG_DIR",
    "SYSTEM_STATE_DIR",
    "AlertingSettings",
    "BackupSettings",
    "BudgetSettings",
    "CpuSettings",
    "CronExpr",
    "DbProbeSettings",
    "DiskSettings",
    "EscalationSettings",
    "HaSettings",
    "HttpUrl",
    "Interval",
    "MailSettings",
    "MaintenanceSettings",
    "MemorySettings",
    "MetricsSettings",
    "PgDsn",
    "Port",
    "ProbeSettings",
    "ProjectRef",
    "ProjectSettings",
    "RouteSettings",
    "RouteUrl",
    "Secret",
    "Settings",
    "SilenceSettings",
    "StateSettings",
    "StatusPageSettings",
    "TierLimits",
    "beside_config",
    "config_warnings",
    "default_config_path",
    "default_state_path",
    "load_settings",
    "metrics_warnings",
]

DEFAULT_CONFIG_PATHS = (SYSTEM_CONFIG_DIR / "config.toml",)
_WATCHING: contextvars.ContextVar[bool] = contextvars.ContextVar("watching", default=True)
"""Whether the file is read to watch its projects (the probes' secrets are then required)."""


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
        problems: list[Problem] = []
        if self.ha.enabled and self.state.backend != "postgres":
            problems.append(
                Problem(
                    "ha.enabled",
                    "high availability needs [state] backend = 'postgres', "
                    "one store every instance shares",
                )
            )
        if self.ha.share_projects and not self.ha.enabled:
            problems.append(
                Problem("ha.share_projects", "sharing projects out needs [ha] enabled = true")
            )
        if self.alerting.public_url is not None and not self.metrics.enabled:
            problems.append(
                Problem(
                    "alerting.public_url",
                    "the Acknowledge links are served by the daemon's HTTP "
                    "endpoint: it needs [metrics] enabled = true",
                )
            )
        seen: set[str] = set()
        for index, project in enumerate(self.projects):
            found = self._project_problems(project)
            if project.ref in seen:
                found.insert(0, Problem("ref", f"duplicate project ref {project.ref!r}"))
            seen.add(project.ref)
            problems += under(f"projects[{index}]", found)
        problems += self._oncall_problems()
        if problems:
            raise Problems(problems)
        return self

    def _project_problems(self, project: ProjectSettings) -> list[Problem]:
        """A project's data checks and the secrets its probes and escalation need."""
        problems: list[Problem] = []
        names = [check.name for check in project.data_checks]
        for number, check in enumerate(project.data_checks):
            at = f"data_checks[{number}]"
            if check.name in names[:number]:
                problems.append(Problem(f"{at}.name", f"duplicate data check name {check.name!r}"))
            problems += under(at, check.problems())
        for kind in project.enabled_probes() if _WATCHING.get() else ():
            for needed in REGISTRY[kind].secrets:
                if self._secret(project, needed) is None:
                    problems.append(Problem(needed, f"required by the {kind} probe"))
        if project.escalation.mode is EscalationMode.AUTO and not self.token_for(project):
            problems.append(Problem("mgmt_token", "required by escalation mode 'auto'"))
        return problems

    def _oncall_problems(self) -> list[Problem]:
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


NO_PROJECTS = Problem("projects", "no [[projects]] table: there is nothing to watch")


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
            raise ConfigError([Problem(str(path), "no such file")]) from None
        except OSError as exc:
            raise ConfigError([Problem(str(path), str(exc.strerror))]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([toml_problem(source, exc)]) from None
    if require_projects and not data:
        raise ConfigError([Problem(source, "empty; start from config.example.toml (every key)")])
    token = READ_SECRETS.set(read_secrets)
    watch = _WATCHING.set(watching)
    directory = CONFIG_DIR.set(None if path is None else path.absolute().parent)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems = _problems(exc, text)
        if require_projects and not data.get("projects"):
            problems.append(NO_PROJECTS)
        raise ConfigError(problems) from None
    finally:
        CONFIG_DIR.reset(directory)
        READ_SECRETS.reset(token)
        _WATCHING.reset(watch)
    if require_projects and not settings.projects:
        raise ConfigError([NO_PROJECTS])
    return settings


def _problems(exc: ValidationError, text: str) -> list[Problem]:
    """Every error pydantic found, with its key's line: the checks across sections carry their
    own locations (:class:`Problems`), a field's error stands at the field."""
    positions = TomlPositions(text)
    problems: list[Problem] = []
    for error in exc.errors(include_url=False, include_input=False):
        raised = error.get("ctx", {}).get("error")
        if isinstance(raised, Problems):
            problems += [positions.place(problem) for problem in raised.found]
            continue
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and loc:
            message = unknown_key(Settings, loc)
        problems += [positions.place(Problem(dotted(loc), part)) for part in message.split("\n")]
    return problems


class Problems(ValueError):
    """The problems of a check across sections, each with its own location: raised in a
    validator, it reaches :func:`_problems` through pydantic's error as it is."""

    def __init__(self, found: list[Problem]) -> None:
        self.found = found
        super().__init__("\n".join(str(problem) for problem in found))
