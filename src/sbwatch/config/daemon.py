"""What the daemon keeps, serves and reads beside its projects: ``[state]``, ``[metrics]``,
``[mail]``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from sbwatch.config.secrets import CONFIG_DIR, PgDsn, Secret, beside_config, unreadable_dropped
from sbwatch.config.types import Port, PositiveDuration, is_false
from sbwatch.config.types import StrictModel as _Model

SYSTEM_CONFIG_DIR = Path("/etc/sbwatch")
SYSTEM_STATE_DIR = Path("/var/lib/sbwatch")
"""Where the unit's ``StateDirectory=sbwatch`` lives: the store of a configuration in
SYSTEM_CONFIG_DIR, for the service and for an operator's shell alike."""


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


class StateSettings(_Model):
    """Where sbwatch keeps its state."""

    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Annotated[Path | None, AfterValidator(_beside_config_or_none)] = None
    """SQLite file; relative to the configuration file; default: see default_state_path."""
    dsn: PgDsn | None = None
    _config_dir: Path | None = PrivateAttr(default_factory=lambda: CONFIG_DIR.get())

    @model_validator(mode="before")
    @classmethod
    def _dsn_only_for_postgres(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("backend", "sqlite") != "postgres":
            return unreadable_dropped(data, "dsn")
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
        if isinstance(data, dict) and is_false(data.get("enabled", False)):
            return unreadable_dropped(data, "password")
        return data

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> MailSettings:
        if self.enabled and self.password is None:
            raise ValueError("password is required when mail is enabled")
        if self.security == "plain" and self.host not in {"127.0.0.1", "::1", "localhost"}:
            raise ValueError("security = 'plain' is only allowed for a loopback host")
        return self
