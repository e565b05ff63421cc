"""Subcommands of the ``sbwatch`` CLI, one module each (registered in ``sbwatch.cli.COMMANDS``)."""
