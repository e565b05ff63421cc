"""Checks and wording for configuration problems: apprise route URLs, TOML syntax errors,
unknown keys. Every message names a place, never a value (values may be secrets)."""

from __future__ import annotations

import difflib
import inspect
import re
import tomllib
import types
import typing
import warnings
from typing import Annotated, Any

from pydantic import BaseModel

from sbwatch.core.problems import Problem

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,31}$")


def apprise_url_problem(url: str) -> str | None:
    """Why apprise cannot use ``url``, or None. The text never quotes the URL (it holds secrets)."""
    import apprise  # only a configuration with routes pays for importing it
    from apprise.manager_plugins import NotificationManager

    from sbwatch.core import log  # noqa: F401 - its import keeps apprise's lines (URLs) out of logs

    scheme, sep, _ = url.strip().partition("://")
    if not sep or not _SCHEME.match(scheme):
        return "not an apprise URL: write it as scheme://..., like ntfys://ntfy.sh/my-topic"
    with warnings.catch_warnings():
        # apprise loads its plugins on first use; one of them imports the deprecated imghdr
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        known = NotificationManager()  # type: ignore[no-untyped-call]  # apprise: unannotated
        if scheme.lower() not in known:
            return f"apprise does not know the scheme '{scheme}://'"
        plugin = apprise.Apprise.instantiate(url.strip())
    if plugin is None:
        return f"apprise cannot use this {scheme}:// URL: check its form in apprise's {scheme} page"
    if scheme.lower() in ("ntfy", "ntfys") and not getattr(plugin, "topics", None):
        return (
            f"this {scheme}:// URL names no topic: nothing would reach a phone; write it as "
            f"{scheme.lower()}://ntfy.sh/my-topic"
        )
    return None


def toml_problem(source: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """``config.toml (line 3): invalid TOML: Expected '=' ... (column 5)``. tomllib keeps the
    position in its message only (before Python 3.14), so it is read from there."""
    message = str(exc)
    found = re.fullmatch(r"(?s)(.*) \(at line (\d+), column (\d+)\)", message)
    if found is None:
        return Problem(source, f"invalid TOML: {message}")
    what, line, column = found.groups()
    return Problem(source, f"invalid TOML: {what} (column {column})", int(line))


def unknown_key(model: Any, loc: tuple[Any, ...]) -> str:
    """``unknown key 'projectz'; did you mean 'projects'?``, from the field names of the model
    that ``loc`` (pydantic's location of the key) leads to under ``model``."""
    key = str(loc[-1])
    known = _field_names(model, loc[:-1])
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _field_names(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at ``loc`` under ``model`` (none if it is no model)."""
    kind: Any = model
    for part in loc:
        kind = _inner(kind, part)
    if inspect.isclass(kind) and issubclass(kind, BaseModel):
        return list(kind.model_fields)
    return []


def _inner(kind: Any, part: Any) -> Any:
    """The type one step down ``kind``: a model's field, a list's item, a mapping's value."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [_inner(arg, part) for arg in typing.get_args(kind) if arg is not type(None)]
        return next((arg for arg in inner if arg is not None), None)
    if origin is Annotated:
        return _inner(typing.get_args(kind)[0], part)
    if origin in (list, tuple) and isinstance(part, int):
        return typing.get_args(kind)[0]
    if origin is dict:
        return typing.get_args(kind)[1]
    if inspect.isclass(kind) and issubclass(kind, BaseModel) and part in kind.model_fields:
        return kind.model_fields[part].annotation
    return None
