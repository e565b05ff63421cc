"""PostgreSQL URLs for the backup tools: the password apart, another database, secrets redacted."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from sbwatch.core.errors import BackupError

LOCAL_SERVER = "postgresql:///postgres"
"""The local server over its Unix socket, as the user sbwatch runs as (libpq defaults)."""
REDACTED = "***"


@dataclass(frozen=True)
class ConnInfo:
    """A ``postgresql://`` URL without its password, and the password.

    The tools get the URL on their command line (where ``ps`` shows it) and the password in
    ``PGPASSWORD``; asyncpg gets the whole URL.
    """

    url: str
    password: str | None

    @classmethod
    def parse(cls, dsn: str) -> ConnInfo:
        """Split a DSN; BackupError (naming no part of it) when it is not a postgresql:// URL."""
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres"):
            raise BackupError(
                "the DSN is not a postgresql:// URL (the only form the backup accepts)",
                transient=False,
            )
        password = unquote(parts.password) if parts.password is not None else None
        query = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "password":
                password = value
            else:
                query.append((key, value))
        netloc = parts.netloc.rpartition("@")[2]
        if parts.username is not None:
            netloc = f"{quote(unquote(parts.username), safe='')}@{netloc}"
        url = _join(parts.scheme, netloc, parts.path, urlencode(query))
        return cls(url, password or None)

    @property
    def full(self) -> str:
        """The URL with its password, for asyncpg."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user, _, host = parts.netloc.rpartition("@")
        netloc = f"{user}:{quote(self.password, safe='')}@{host}"
        return _join(parts.scheme, netloc, parts.path, parts.query)

    @property
    def database(self) -> str:
        """The database named in the URL (libpq's default, the user name, is not guessed)."""
        return unquote(urlsplit(self.url).path.lstrip("/"))

    def with_database(self, name: str) -> ConnInfo:
        """The same server and credentials, another database."""
        parts = urlsplit(self.url)
        path = "/" + quote(name, safe="")
        return ConnInfo(_join(parts.scheme, parts.netloc, path, parts.query), self.password)

    def env(self) -> dict[str, str]:
        """Environment variables a libpq tool needs beside the URL."""
        return {"PGPASSWORD": self.password} if self.password is not None else {}

    def redact(self, text: str) -> str:
        """``text`` with the password (plain and URL-quoted) replaced."""
        if not self.password:
            return text
        for form in {self.password, quote(self.password, safe="")}:
            text = text.replace(form, REDACTED)
        return text


def _join(scheme: str, netloc: str, path: str, query: str) -> str:
    """A URL that keeps ``//`` with an empty host (``postgresql:///db``: the Unix socket)."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
