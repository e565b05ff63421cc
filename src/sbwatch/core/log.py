"""One logger setup: JSON lines under systemd or when piped, readable console on a TTY."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO, cast

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


URL_LOGGERS = ("apprise", "urllib3", "requests", "httpx", "httpcore")
"""Libraries whose own log lines carry full URLs, where route and heartbeat secrets live."""


def _keep_urls_out_of_stdlib_logging() -> None:
    """Whatever stdlib logging a host sets up, these libraries' lines never reach it.

    apprise still hands each call its own lines through its result (see alerting.dispatch).
    """
    for name in URL_LOGGERS:
        library = logging.getLogger(name)
        library.addHandler(logging.NullHandler())
        library.propagate = False


_keep_urls_out_of_stdlib_logging()


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Set up structlog once for the process."""
    out = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


Logger = structlog.typing.FilteringBoundLogger


def get_logger(name: str) -> Logger:
    """A bound logger carrying the component name, following every later ``configure``."""
    return cast(Logger, _Lazy(name))


class _Lazy:
    """structlog's lazy logger, built again only when structlog's configuration changed.

    ``structlog.get_logger`` hands out a proxy that builds a new bound logger at every method
    lookup, so that a later ``configure`` applies; this one keeps the logger it built while the
    configuration it was built from is the current one. ``capture_logs`` swaps the processors
    inside the same list, which a built logger holds and so follows.
    """

    __slots__ = ("_built", "_logger", "_proxy")

    def __init__(self, name: str) -> None:
        self._proxy = structlog.get_logger(component=name)
        self._built: tuple[Any, ...] = (None, None, None, None)
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        config = structlog.get_config()
        built = self._built
        if (
            config["processors"] is not built[0]
            or config["wrapper_class"] is not built[1]
            or config["logger_factory"] is not built[2]
            or config["context_class"] is not built[3]
        ):
            self._logger = self._proxy.bind()
            self._built = (
                config["processors"],
                config["wrapper_class"],
                config["logger_factory"],
                config["context_class"],
            )
        return getattr(self._logger, name)
