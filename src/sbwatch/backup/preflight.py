"""What ``check-config`` asks of a project's backup: the server, pg_dump and pg_restore agree."""

from __future__ import annotations

import os

from sbwatch.backup import catalog
from sbwatch.backup.dump import Tool, find_tools
from sbwatch.backup.service import SOURCE, backup_settings, project_dir, source
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.errors import BackupError, ToolVersionMismatch
from sbwatch.core.problems import Problem


async def server_tools(project: ProjectSettings) -> tuple[str, Tool, Tool]:
    """The server's version and the pg_dump and pg_restore of its major; BackupError if none."""
    settings = backup_settings(project)
    info = source(project)
    async with catalog.connect(info, SOURCE) as conn:
        version = await catalog.server_version(conn)
    pg_dump, pg_restore = await find_tools(settings, (version.major, version.text))
    return version.text, pg_dump, pg_restore


async def preflight(project: ProjectSettings) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of one project's backup, located under the project; an unreachable
    database only warns."""
    where = "backup"
    problems: list[Problem] = []
    warnings: list[Problem] = []
    directory = project_dir(project)
    existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        problems.append(Problem(f"{where}.dir", f"{existing} is not writable"))
    try:
        await server_tools(project)
    except ToolVersionMismatch as exc:
        problems.append(Problem(where, str(exc)))
    except BackupError as exc:
        (warnings if exc.transient else problems).append(Problem(where, str(exc)))
    return problems, warnings
