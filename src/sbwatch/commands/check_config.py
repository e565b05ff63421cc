"""``sbwatch check-config``: validate the whole configuration, print every error."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sbwatch.backup.preflight import preflight
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings

NAME = "check-config"
HELP = (
    "Validate the configuration and print every problem as 'location: message' (exit 1 if any). "
    "For a project that backs up, also ask its server for its version and check that pg_dump "
    "and pg_restore of that major version are installed (an unreachable server only warns)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """No options beyond the global --config."""


def run(args: argparse.Namespace) -> int:
    """Exit 0 and summarise when the configuration is valid."""
    settings = settings_or_exit(args)
    problems, warnings = asyncio.run(_backups(settings))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"configuration ok: {len(settings.projects)} project(s)")
    return 0


async def _backups(settings: Settings) -> tuple[list[str], list[str]]:
    """Backup problems and warnings of every project, located as ``projects[N].backup``."""
    problems: list[str] = []
    warnings: list[str] = []
    for index, project in enumerate(settings.projects):
        if not project.backs_up:
            continue
        found, warned = await preflight(project)
        problems += [f"projects[{index}].{p}" for p in found]
        warnings += [f"projects[{index}].{w}" for w in warned]
    return problems, warnings
