"""The daily backup of a project (``[projects.backup]``)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field

from sbwatch.config.secrets import PgDsn
from sbwatch.config.types import CronExpr, Duration, Interval, PositiveDuration, TimeZoneName
from sbwatch.config.types import StrictModel as _Model


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
