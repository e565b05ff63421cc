"""``sbwatch run``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import config_warnings, default_config_path
from sbwatch.core import log
from sbwatch.core.errors import ConfigError, SbwatchError

NAME = "run"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """No options beyond the global --config."""


def run(args: argparse.Namespace) -> int:
    """Load the configuration (exit 1 listing every problem), then run until stopped."""
    settings = settings_or_exit(args, require_projects=True)
    from sbwatch.daemon.app import Daemon  # the daemon's imports: only for a valid configuration

    log.configure(settings.log_level, settings.log_format)
    for warning in config_warnings(settings):
        log.get_logger("config").warning("configuration warning", detail=str(warning))
    daemon = Daemon(settings, config_path=args.config or default_config_path())
    try:
        return asyncio.run(daemon.run())
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except SbwatchError as exc:
        print(f"sbwatch cannot start: {exc}", file=sys.stderr)
        return 1
