"""Helpers shared by subcommands: loading settings with errors printed as ``location: message``."""

from __future__ import annotations

import argparse
import sys

from pydantic import SecretStr

from sbwatch.config.settings import ProjectSettings, Settings, load_settings
from sbwatch.core.errors import ConfigError


def settings_or_exit(
    args: argparse.Namespace, *, require_projects: bool = False, watching: bool = True
) -> Settings:
    """Load the configuration named by ``--config``; print every problem and exit 1 if invalid
    (``watching=False``: a command that runs no probe needs none of their secrets)."""
    try:
        return load_settings(args.config, require_projects=require_projects, watching=watching)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1) from None


def project_or_exit(settings: Settings, ref: str) -> ProjectSettings:
    """A configured project; print that it is not configured and exit 2 otherwise."""
    try:
        return settings.project(ref)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        raise SystemExit(2) from None


def token_or_exit(settings: Settings, project: ProjectSettings) -> SecretStr:
    """The project's Management API token; print that it has none and exit 2 otherwise."""
    token = settings.token_for(project)
    if token is None:
        print(f"sbwatch: no Management API token for {project.ref} (mgmt_token)", file=sys.stderr)
        raise SystemExit(2)
    return token
