"""The ``sbwatch`` command line: one subcommand per module in ``sbwatch.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sbwatch import __version__
from sbwatch.core.errors import ConfigError, SbwatchError

# One line per subcommand module; each defines NAME, HELP, configure(parser) and run(args) -> int.
COMMANDS: tuple[str, ...] = (
    "sbwatch.commands.run",
    "sbwatch.commands.status",
    "sbwatch.commands.demo",
    "sbwatch.commands.tryout",
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
CONFIG_HELP = (
    "configuration file (default: /etc/sbwatch/config.toml, "
    "then $XDG_CONFIG_HOME/sbwatch/config.toml)"
)
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a process killed by SIGPIPE (128 + 13), as ``yes | head`` does."""


def add_global_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--config``, accepted before the subcommand and after it alike.

    Below the top level the default is SUPPRESS, so a subcommand that was not given the
    option leaves the value parsed before the subcommand (or the top level's None) alone.
    """
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        metavar="FILE",
        help=CONFIG_HELP,
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of a parser's own subcommands (none when it has none)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # argparse keeps subcommands only in this list
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.values())
    return found


def _add_global_options_below(parser: argparse.ArgumentParser) -> None:
    """Give every (sub)subcommand the global options, unless it has a --config of its own."""
    if "--config" not in parser._option_string_actions:
        add_global_options(parser)
    for child in _subparsers(parser):
        _add_global_options_below(child)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sbwatch",
        description="A watchdog for a Supabase project: probes, disk IO budget forecast, "
        "provider emails, diagnosis, alerts and compute escalation.",
    )
    parser.add_argument("--version", action="version", version=f"sbwatch {__version__}")
    add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(command)
        _add_global_options_below(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    try:
        try:
            code = _main(argv)
        finally:  # also after --help: a closed pipe shows here, not at exit, too late to catch
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``sbwatch ... | head``): stop quietly. Python flushes stdout
        # again at exit, so point it at /dev/null first (as the signal module's docs advise).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except SbwatchError as exc:  # an expected failure: its message, never a traceback
        print(f"sbwatch: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
