"""The migration history renders to equivalent SQLite and PostgreSQL schemas."""

from __future__ import annotations

from sbwatch.store.migrations import latest_version, migrations


def test_both_backends_have_the_same_numbered_history() -> None:
    """Versions run 1..latest on both backends with the same descriptions and statement counts."""
    sqlite, postgres = migrations("sqlite"), migrations("postgres")
    expected = [(n, len(m.statements), m.description) for n, m in enumerate(sqlite, start=1)]
    assert (list(range(1, latest_version() + 1)), expected) == (
        [m.version for m in postgres],
        [(m.version, len(m.statements), m.description) for m in postgres],
    )


def test_every_placeholder_is_rendered() -> None:
    """No type placeholder is left in any rendered statement."""
    leftovers = [
        s for b in ("sqlite", "postgres") for m in migrations(b) for s in m.statements if "{" in s
    ]
    assert [] == leftovers
