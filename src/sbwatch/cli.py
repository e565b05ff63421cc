"""The ``sbwatch`` command line: one subcommand per module in ``sbwatch.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from sbwatch import __version__

# One line per subcommand module; each defines NAME, HELP, configure(parser) and run(args) -> int.
COMMANDS: tuple[str, ...] = (
    "sbwatch.commands.run",
    "sbwatch.commands.status",
    "sbwatch.commands.demo",
    "sbwatch.commands.check_config",
    "sbwatch.commands.version",
    "sbwatch.commands.mail",
    "sbwatch.commands.budget",
    "sbwatch.commands.alert",
    "sbwatch.commands.silence",
    "sbwatch.commands.sim",
    "sbwatch.commands.escalate",
    "sbwatch.commands.history",
    "sbwatch.commands.probe",
    "sbwatch.commands.backup",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sbwatch",
        description="A watchdog for a Supabase project: probes, disk IO budget forecast, "
        "provider emails, diagnosis, alerts and compute escalation.",
    )
    parser.add_argument("--version", action="version", version=f"sbwatch {__version__}")
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        help="configuration file (default: /etc/sbwatch/config.toml, "
        "then $XDG_CONFIG_HOME/sbwatch/config.toml)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
