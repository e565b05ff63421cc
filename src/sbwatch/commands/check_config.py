"""``sbwatch check-config``: validate the whole configuration, print every error."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from sbwatch.commands import HELPS
from sbwatch.config.settings import (
    Settings,
    config_warnings,
    default_config_path,
    load_settings,
)
from sbwatch.config.tomlpos import TomlPositions
from sbwatch.core.clock import SystemClock
from sbwatch.core.errors import ConfigError
from sbwatch.core.problems import Problem, under

# What only some configurations or --online need (backups, data checks, the token check over
# HTTP, the mail trust rule) is imported where it is used: asyncpg, httpx and dkimpy with
# dnspython would cost every run of the command half a second of CPU.

NAME = "check-config"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """An optional FILE (like ``promtool check config FILE``) and ``--no-secrets``."""
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="the configuration file (the same as --config FILE)",
    )
    parser.add_argument(
        "--no-secrets",
        action="store_true",
        help="check 'cred:', 'env:' and 'file:' references for their form only, without "
        "reading them (for a file checked away from the credentials it will run with); the "
        "alert route URLs behind such references are then not checked either",
    )
    parser.add_argument(
        "--online",
        action="store_true",
        help="connect to each project's database and check its data checks against it "
        "(plans and catalog reads only; an unreachable database only warns)",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 and summarise when the configuration is valid."""
    if args.file is not None and args.config is not None and args.file != args.config:
        print("check-config: give the file once, as FILE or as --config FILE", file=sys.stderr)
        return 2
    path: Path | None = args.file or args.config
    try:
        settings = load_settings(path, read_secrets=not args.no_secrets, require_projects=True)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    problems = state_problems(settings) + file_problems(settings)
    backup_problems, backup_warnings = asyncio.run(_backups(settings))
    problems += backup_problems
    data_warnings: list[Problem] = []
    token_warnings: list[Problem] = []
    if args.online:
        data_problems, data_warnings = asyncio.run(_data_checks(settings))
        problems += data_problems
        token_problems, token_warnings = asyncio.run(_tokens(settings))
        problems += token_problems
    positions = _positions(path)
    for problem in problems:
        print(_located(positions, problem), file=sys.stderr)
    if problems:
        return 1
    for warning in [*config_warnings(settings), *backup_warnings, *data_warnings, *token_warnings]:
        print(f"warning: {_located(positions, warning)}", file=sys.stderr)
    unread = " (secrets not read)" if args.no_secrets else ""
    print(f"configuration ok: {len(settings.projects)} project(s){unread}")
    if settings.mail.enabled:
        from sbwatch.ingest.parse import rule_from_settings

        print(f"mail: {rule_from_settings(settings.mail).describe()}")
    return 0


def _positions(path: Path | None) -> TomlPositions | None:
    """The lines of the file just loaded (None when it cannot be read again)."""
    try:
        return TomlPositions((path or default_config_path()).read_text(encoding="utf-8"))
    except OSError:
        return None


def _located(positions: TomlPositions | None, problem: Problem) -> Problem:
    """``projects[0].backup.schedule (line 7): ...``: the problem with its key's line, when
    known."""
    return problem if positions is None else positions.place(problem)


def state_problems(settings: Settings) -> list[Problem]:
    """What would keep ``sbwatch run`` from creating or writing its SQLite state file."""
    if settings.state.backend != "sqlite":
        return []  # the PostgreSQL store is reached only by running
    path = settings.state.sqlite_path()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path:
        if path.is_file() and os.access(path, os.R_OK | os.W_OK):
            return []
        return [Problem("state.path", f"{path} is not a writable file")]
    if not existing.is_dir():
        return [Problem("state.path", f"cannot create {path}: {existing} is not a directory")]
    if not os.access(existing, os.W_OK | os.X_OK):
        return [Problem("state.path", f"cannot create {path}: {existing} is not writable")]
    return []


def file_problems(settings: Settings) -> list[Problem]:
    """Files the configuration names that ``sbwatch run`` would fail to read."""
    mail = settings.mail
    if mail.enabled and mail.ca_file is not None and not os.access(mail.ca_file, os.R_OK):
        return [Problem("mail.ca_file", f"cannot read {mail.ca_file}")]
    return []


async def _backups(settings: Settings) -> tuple[list[Problem], list[Problem]]:
    """Backup problems and warnings of every project, located as ``projects[N].backup``."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for index, project in enumerate(settings.projects):
        if not project.backs_up:
            continue
        from sbwatch.backup.preflight import preflight  # for a project that backs up only

        found, warned = await preflight(project)
        problems += under(f"projects[{index}]", found)
        warnings += under(f"projects[{index}]", warned)
    return problems, warnings


async def _data_checks(settings: Settings) -> tuple[list[Problem], list[Problem]]:
    """Data check problems and warnings of every project, located as ``projects[N]``."""
    from sbwatch.data import preflight as data_preflight

    problems: list[Problem] = []
    warnings: list[Problem] = []
    for index, project in enumerate(settings.projects):
        found, warned = await data_preflight.preflight(project)
        problems += under(f"projects[{index}]", found)
        warnings += under(f"projects[{index}]", warned)
    return problems, warnings


async def _tokens(settings: Settings) -> tuple[list[Problem], list[Problem]]:
    """Per project: the permissions its features need (printed) and what its token lacks."""
    from sbwatch.daemon.http import http_client
    from sbwatch.supabase.mgmt_api import ManagementApi
    from sbwatch.supabase.permissions import check_token

    problems: list[Problem] = []
    warnings: list[Problem] = []
    async with http_client() as http:
        for index, project in enumerate(settings.projects):
            token = settings.token_for(project)
            if token is None:
                continue
            api = ManagementApi(http, str(settings.mgmt_api_url), token, clock=SystemClock())
            found = await check_token(api, project)
            where = f"projects[{index}].mgmt_token"
            for feature, permissions in found.needs:
                print(f"{where}: {feature} needs {', '.join(permissions)}")
            if found.problem is not None:
                problems.append(Problem(where, found.problem))
            elif found.unreachable is not None:
                warnings.append(Problem(where, f"permissions not checked ({found.unreachable})"))
            for permission in found.lacking:
                users = [f for f, perms in found.needs if permission in perms]
                problems.append(
                    Problem(
                        where,
                        f"the token lacks {permission}"
                        + (f" (needed by {', '.join(users)})" if users else ""),
                    )
                )
    return problems, warnings
