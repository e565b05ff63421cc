"""The sbwatch error tree: every error says whether retrying can help."""

from __future__ import annotations

from collections.abc import Iterable

from sbwatch.core.problems import Problem


class SbwatchError(Exception):
    """Base of every error sbwatch raises on purpose."""

    transient: bool = False
    """True when the same call may succeed later (timeouts, 429, 5xx, dropped connections)."""


class ConfigError(SbwatchError):
    """The configuration is invalid; ``found`` holds every problem, with its location."""

    def __init__(self, found: Iterable[Problem]) -> None:
        self.found = tuple(found)
        super().__init__("; ".join(self.problems) if self.found else "invalid configuration")

    @property
    def problems(self) -> list[str]:
        """One printed ``location: message`` line per problem."""
        return [str(problem) for problem in self.found]


class TransientError(SbwatchError):
    """A failure that a retry may cure."""

    transient = True


class PermanentError(SbwatchError):
    """A failure that a retry will not cure without a change somewhere."""


class ApiError(SbwatchError):
    """The Management API answered with an error or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        transient: bool,
        provider_message: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient
        self.provider_message = provider_message
        """The ``message`` of the error body (a query's SQL error, say); empty when none."""
        self.retry_after_s = retry_after_s
        """From ``Retry-After``: the API says the call may be repeated, after this long."""


class RateLimited(ApiError):
    """429 from the Management API; ``retry_after_s`` from ``X-RateLimit-Reset``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(
            f"rate limited, retry after {retry_after_s:.0f}s",
            status=429,
            transient=True,
            retry_after_s=retry_after_s,
        )
        self.retry_after_s: float = retry_after_s


class AuthRejected(ApiError):
    """The token or key was refused (401/403): a person must fix the credential.

    ``missing_permissions``: what a 403 says the token lacks (a scoped token's permissions).
    """

    def __init__(
        self,
        message: str = "credential rejected",
        *,
        status: int = 401,
        missing_permissions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, status=status, transient=False)
        self.missing_permissions = missing_permissions


class StoreError(SbwatchError):
    """The state store failed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class MailError(SbwatchError):
    """The IMAP server refused or dropped us."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class LockBusy(TransientError):
    """Another process holds the escalation lock."""


class BackupError(SbwatchError):
    """A backup or its verification could not be made; the message names the cause."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class ToolVersionMismatch(BackupError):
    """pg_dump or pg_restore is of another major version than the server."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


class Fenced(SbwatchError):
    """The store refused a write of a leader whose epoch is no longer the lease's: another
    instance leads now, and this one must not act."""
