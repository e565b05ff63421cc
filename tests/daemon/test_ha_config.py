"""The [ha] table: it needs the shared PostgreSQL store, and a store on a watched project warns."""

from __future__ import annotations

import pytest

from sbwatch.config.ha import store_on_a_watched_project
from sbwatch.config.settings import config_warnings, load_settings
from sbwatch.core.errors import ConfigError

REF = "abcdefghijklmnopqrst"

PROJECT_FIRST = (
    'mgmt_token = "t"\n'
    f'projects = [{{ ref = "{REF}", url = "https://{REF}.supabase.co", service_key = "k",'
    " probes = { db = { enabled = false } } }]\n"
)
"""The same project as an inline array, so tables may follow it."""


def test_ha_without_the_postgres_store_is_refused() -> None:
    """[ha] on the SQLite default: one location-named problem."""
    with pytest.raises(ConfigError) as caught:
        load_settings(text=PROJECT_FIRST + "[ha]\nenabled = true\n")
    assert any(p.startswith("ha.enabled") and "postgres" in p for p in caught.value.problems)


def test_ha_defaults_lead_within_thirty_seconds() -> None:
    """Lease 20 s renewed every 5 s; the leader acts 15 s after its last renewal at most."""
    text = '[state]\nbackend = "postgres"\ndsn = "postgresql://h/db"\n[ha]\nenabled = true\n'
    ha = load_settings(text=PROJECT_FIRST + text).ha
    assert (20.0, 5.0, 15.0) == (ha.lease_s, ha.renew_s, ha.acting_s)
    assert ha.instance


def test_renewals_must_fit_twice_in_the_lease() -> None:
    """renew_every above half the lease is refused."""
    with pytest.raises(ConfigError):
        load_settings(text=PROJECT_FIRST + '[ha]\nlease = "4s"\nrenew_every = "3s"\n')


@pytest.mark.parametrize(
    ("dsn", "found"),
    [
        (f"postgresql://postgres@db.{REF}.supabase.co:5432/postgres", REF),
        (f"postgresql://postgres.{REF}@aws-0-eu.pooler.supabase.com:6543/postgres", REF),
        ("postgresql://sbwatch@db.example.net/sbwatch", None),
        ("postgresql://sbwatch@10.0.0.5/sbwatch", "other00000000000000a"),
    ],
)
def test_a_store_on_a_watched_project_is_found(dsn: str, found: str | None) -> None:
    """The project's ref in host or user, or the host of its db_dsn."""
    projects = [(REF, None), ("other00000000000000a", "postgresql://u@10.0.0.5/postgres")]
    assert found == store_on_a_watched_project(dsn, projects)


def test_check_config_warns_of_a_store_on_a_watched_project() -> None:
    """The warning names the project and why."""
    dsn = f"postgresql://postgres@db.{REF}.supabase.co/postgres"
    text = f'[state]\nbackend = "postgres"\ndsn = "{dsn}"\n'
    warnings = config_warnings(load_settings(text=PROJECT_FIRST + text))
    assert any(str(w).startswith("state.dsn:") and REF in str(w) for w in warnings)


def test_sharing_projects_without_ha_is_refused() -> None:
    """share_projects alone would do nothing: one problem naming the field."""
    with pytest.raises(ConfigError) as caught:
        load_settings(text=PROJECT_FIRST + "[ha]\nshare_projects = true\n")
    assert [p for p in caught.value.problems if p.startswith("ha.share_projects")]


def test_sharing_projects_is_off_by_default_and_read_when_on() -> None:
    """[ha] share_projects = true on the PostgreSQL store."""
    text = '[state]\nbackend = "postgres"\ndsn = "postgresql://h/db"\n[ha]\nenabled = true\n'
    assert not load_settings(text=PROJECT_FIRST + text).ha.share_projects
    shared = load_settings(text=PROJECT_FIRST + text + "share_projects = true\n").ha
    assert shared.share_projects
