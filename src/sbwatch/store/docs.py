"""Typed documents of the state store: where each kind of small document is kept (a namespace
and a key) and how it is read and written, so its callers hold values, never dicts.

The JSON of every document is what the callers wrote before: a store written by an older
sbwatch reads the same. A malformed document raises a ValueError naming the document and the
field (:func:`reading` and the field readers below).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, Self, TypeVar

from sbwatch.store.base import StateStore

T = TypeVar("T")


class Doc(Protocol):
    """A value with a JSON form: ``to_doc`` and its inverse ``from_doc``."""

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        ...

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Self:
        """The inverse of :meth:`to_doc`; ValueError (or KeyError, TypeError) when malformed."""
        ...


D = TypeVar("D", bound=Doc)


@dataclass(frozen=True, slots=True)
class Slot(Generic[T]):
    """Where one document is kept, and its reading and writing."""

    namespace: str
    key: str
    load: Callable[[dict[str, Any]], T]
    dump: Callable[[T], dict[str, Any]]

    async def read(self, store: StateStore) -> T | None:
        """The document as a value; None when there is none (a malformed one raises)."""
        doc = await store.get_state(self.namespace, self.key)
        return None if doc is None else self.load(doc)

    async def write(self, store: StateStore, value: T) -> None:
        """Insert or replace the document (durable when this returns)."""
        await store.put_state(self.namespace, self.key, self.dump(value))

    async def delete(self, store: StateStore) -> None:
        """Remove the document if present."""
        await store.delete_state(self.namespace, self.key)


def reading(what: str, build: Callable[[], T]) -> T:
    """``build()``, its KeyError, TypeError or ValueError a ValueError naming ``what``."""
    try:
        return build()
    except KeyError as exc:
        raise ValueError(f"malformed {what}: no {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed {what}: {exc}") from None


def field(doc: Mapping[str, Any], key: str, *kinds: type) -> Any:
    """``doc[key]`` as stored, checked to be one of ``kinds`` (a bool is not a number).

    KeyError when missing, TypeError naming the field when of another kind; a number is kept
    as it is (an int stays an int), so the document written again is the one read.
    """
    value = doc[key]
    if isinstance(value, bool) and bool not in kinds:
        raise TypeError(f"{key!r} is a bool")
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{key!r} is {type(value).__name__}, not {names}")
    return value


def optional(doc: Mapping[str, Any], key: str, *kinds: type) -> Any:
    """:func:`field`, None allowed."""
    return None if doc[key] is None else field(doc, key, *kinds)


def moment(doc: Mapping[str, Any], key: str) -> datetime:
    """An ISO time stored under ``key``."""
    return datetime.fromisoformat(field(doc, key, str))


def slot(namespace: str, key: str, kind: type[D]) -> Slot[D]:
    """The slot of a :class:`Doc` type."""
    return Slot(namespace, key, kind.from_doc, kind.to_doc)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A moment remembered (``{"at": ISO}``): when something was last done or first seen."""

    at: datetime

    def to_doc(self) -> dict[str, Any]:
        """``{"at": "2026-05-26T12:00:00+00:00"}``."""
        return {"at": self.at.isoformat()}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Stamp:
        """The inverse of :meth:`to_doc`."""
        return cls(datetime.fromisoformat(str(doc["at"])))
