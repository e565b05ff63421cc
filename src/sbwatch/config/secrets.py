"""Secrets in the configuration: written as a value, or as a reference read when it loads.

``"cred:NAME"`` reads ``$CREDENTIALS_DIRECTORY/NAME`` (systemd ``LoadCredential=``),
``"env:VAR"`` reads an environment variable and ``"file:/path"`` reads a file; a relative
``file:`` path is relative to the configuration file's directory.
"""

from __future__ import annotations

import contextvars
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr

from sbwatch.config.checks import apprise_url_problem

CONFIG_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config", default=None)
"""The directory of the file ``load_settings`` reads: relative paths in it are relative to it."""
READ_SECRETS: contextvars.ContextVar[bool] = contextvars.ContextVar("read_secrets", default=True)
"""False while ``load_settings(read_secrets=False)`` runs: references are checked, not read."""
_REFERENCE = re.compile(r"^(cred|env|file):.+$", re.DOTALL)


def _resolve_secret(value: Any) -> Any:
    if not isinstance(value, str) or (not READ_SECRETS.get() and _REFERENCE.match(value)):
        return value
    scheme, _, rest = value.partition(":")
    if scheme == "cred" and rest:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ValueError(f"credential {rest!r} requested but $CREDENTIALS_DIRECTORY is not set")
        return _read_secret_file(Path(directory) / rest, f"credential {rest!r}")
    if scheme == "env" and rest:
        if rest not in os.environ:
            raise ValueError(f"environment variable {rest!r} is not set")
        return os.environ[rest]
    if scheme == "file" and rest:
        return _read_secret_file(beside_config(Path(rest)), f"secret file {rest!r}")
    return value


def beside_config(path: Path) -> Path:
    """``path``, taken relative to the configuration file's directory when it is relative."""
    base = CONFIG_DIR.get()
    return path if path.is_absolute() or base is None else base / path


def _read_secret_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{what} cannot be read ({exc.strerror})") from None


def unreadable_dropped(data: Any, *keys: str) -> Any:
    """``data`` without those secrets among ``keys`` that cannot be read: for a feature that is
    off, whose secrets are therefore not demanded."""
    if not isinstance(data, dict):
        return data
    kept = dict(data)
    for key in keys:
        if key in kept:
            try:
                _resolve_secret(kept[key])
            except ValueError:
                del kept[key]
    return kept


def _apprise_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    if not READ_SECRETS.get() and _REFERENCE.match(url):
        return value  # not read, so not checked; ``check-config`` without --no-secrets does
    problem = apprise_url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    return value


def http_url(value: SecretStr | None) -> SecretStr | None:
    """A secret that must be an http:// or https:// URL once read (a reference is not read)."""
    url = value.get_secret_value() if value is not None else ""
    if value is None or (not READ_SECRETS.get() and _REFERENCE.match(url)):
        return value
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _postgres_dsn(value: SecretStr) -> SecretStr:
    """A PostgreSQL URL (``postgresql://`` or ``postgres://``) that parses; the message never
    quotes the DSN, only its scheme."""
    dsn = value.get_secret_value()
    if not READ_SECRETS.get() and _REFERENCE.match(dsn):
        return value  # not read, so not checked; ``check-config`` without --no-secrets does
    scheme, sep, _ = dsn.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        shown = (
            repr(scheme) if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,20}", scheme) else ""
        )
        raise ValueError(f"must be a postgresql:// URL{f' (not {shown})' if shown else ''}")
    try:
        urlsplit(dsn).port  # noqa: B018 -- a bad port or bracket raises here
    except ValueError:
        raise ValueError("is not a valid postgresql:// URL (host, port or brackets)") from None
    return value


Secret = Annotated[SecretStr, BeforeValidator(_resolve_secret)]
PgDsn = Annotated[SecretStr, BeforeValidator(_resolve_secret), AfterValidator(_postgres_dsn)]
"""A secret PostgreSQL URL."""
RouteUrl = Annotated[SecretStr, AfterValidator(_apprise_url), BeforeValidator(_resolve_secret)]
"""An apprise URL that apprise itself accepts (a secret: it often carries a token)."""
