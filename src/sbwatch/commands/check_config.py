"""``sbwatch check-config``: validate the whole configuration, print every error."""

from __future__ import annotations

import argparse

from sbwatch.commands.common import settings_or_exit

NAME = "check-config"
HELP = "Validate the configuration and print every problem as 'location: message' (exit 1 if any)."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options beyond the global --config."""


def run(args: argparse.Namespace) -> int:
    """Exit 0 and summarise when the configuration is valid."""
    settings = settings_or_exit(args)
    print(f"configuration ok: {len(settings.projects)} project(s)")
    return 0
