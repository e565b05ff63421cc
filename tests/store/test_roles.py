"""The Store protocol is its roles put together: each method belongs to exactly one role, and
both backends are every role."""

from __future__ import annotations

import inspect
from pathlib import Path

from sbwatch.store import base
from sbwatch.store.sqlite import SqliteStore

ROLES = [
    base.StoreLifecycle,
    base.ProbeStore,
    base.BudgetStore,
    base.StateStore,
    base.MailStore,
    base.DiagnosisStore,
    base.JournalStore,
    base.LeaseStore,
    base.AlertStore,
    base.OutboxStore,
    base.OnCallStore,
    base.IncidentStore,
]


def _methods(role: type) -> set[str]:
    """The methods a protocol class declares itself (not those it inherits)."""
    return {
        name
        for name, value in vars(role).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


def test_every_method_of_the_store_belongs_to_one_role() -> None:
    """No method is in two roles, the roles together are the Store, and Store adds nothing."""
    owned = [name for role in ROLES for name in _methods(role)]
    assert len(owned) == len(set(owned))
    assert set(ROLES) == set(base.Store.__mro__) & set(ROLES)
    assert set() == _methods(base.Store)


def test_the_backends_are_every_role(tmp_path: Path) -> None:
    """The SQLite store has every method of every role (PostgreSQL is checked by mypy alike)."""
    store = SqliteStore(tmp_path / "state.db")
    missing = [name for role in ROLES for name in _methods(role) if not hasattr(store, name)]
    assert [] == missing
