"""The ``sbwatch`` command line: one subcommand per module in ``sbwatch.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

from sbwatch import __version__
from sbwatch.commands import HELPS, MODULES
from sbwatch.core.errors import ConfigError, SbwatchError

COMMANDS: tuple[str, ...] = tuple(MODULES.values())
"""Every subcommand module; each defines NAME, HELP, configure(parser) and run(args) -> int."""
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


class _Parser(argparse.ArgumentParser):
    """argparse that lets a closed pipe show: its own printing drops a failed write, so a help
    longer than the pipe's buffer would end with exit 0 on a reader that is gone."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (file or sys.stderr).write(message)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand; with ``only``, the options of that command
    alone are read (its module alone imported), the others are listed by name and help."""
    parser = _Parser(
        prog="sbwatch",
        description="A watchdog for a Supabase project: probes, disk IO budget forecast, "
        "provider emails, diagnosis, alerts and compute escalation.",
    )
    parser.add_argument("--version", action="version", version=f"sbwatch {__version__}")
    add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in MODULES.items():
        command = sub.add_parser(name, help=HELPS[name], description=HELPS[name])
        if only is None or only == name:
            module = importlib.import_module(module_name)
            module.configure(command)
            command.set_defaults(_run=module.run)
        _add_global_options_below(command)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not a top-level option)."""
    words = iter(argv)
    for word in words:
        if word in ("--config", "-c"):
            next(words, None)  # its value
        elif not word.startswith("-"):
            return word
    return None


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
    words = sys.argv[1:] if argv is None else list(argv)
    # no command word (``sbwatch --help``): list the commands, import none
    args = build_parser(only=command_word(words) or "").parse_args(words)
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
