"""One connection to a project's database for a command (a report, a preflight check).

Failures are words free of the DSN (it holds the password): the DSN's form, the network's
reason, or the server's error class.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sbwatch.core.errors import PermanentError, TransientError

CONNECT_TIMEOUT_S = 10.0
_ERRORS = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Unreachable(TransientError):
    """The database could not be reached; the message says why, never with the DSN."""


class InvalidDsn(PermanentError):
    """The DSN itself is malformed: no connection was tried."""


async def connect(dsn: str, application_name: str) -> Any:
    """A new connection; :class:`InvalidDsn` or :class:`Unreachable` otherwise."""
    try:
        return await asyncpg.connect(
            dsn,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": application_name},
        )
    except _ERRORS as exc:
        if isinstance(exc, ValueError):  # asyncpg.ClientConfigurationError is one too
            raise InvalidDsn(reason(exc)) from None
        raise Unreachable(reason(exc)) from None


def reason(exc: BaseException) -> str:
    """Why a connect failed, in a few words that never quote the DSN."""
    if isinstance(exc, ValueError):  # asyncpg.ClientConfigurationError is one too
        return "invalid database DSN"
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_S:g}s"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return type(exc).__name__
