"""``sbwatch version``."""

from __future__ import annotations

import argparse

from sbwatch import __version__
from sbwatch.commands import HELPS

NAME = "version"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"sbwatch {__version__}")
    return 0
