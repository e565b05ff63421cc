"""Typed documents of the state store: where each kind of small document is kept (a namespace
and a key) and how it is read and written, so its callers hold values, never dicts.

The JSON of every document is what the callers wrote before: a store written by an older
sbwatch reads the same.
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
