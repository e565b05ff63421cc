"""``sbwatch version``."""

from __future__ import annotations

import argparse

from sbwatch import __version__

NAME = "version"
HELP = "Print the sbwatch version."


def configure(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"sbwatch {__version__}")
    return 0
