"""Reading the connections from the metrics scrape and the per-size limits from the add-ons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.core.connections import DIRECT, POOLER, REST, ConnReading
from sbwatch.core.tiers import Tier
from sbwatch.probes.metrics import parse_sample, read_exposition
from sbwatch.supabase.connections import (
    CONNECTION_LIMITS,
    ConnLimits,
    bigger_limit,
    limits_from_addons,
    read_connections,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
AT = datetime(2026, 5, 20, 12, tzinfo=UTC)
IDS = 'supabase_project_ref="abcdefghijkl",supabase_identifier="abcdefghijkl"'
SCRAPE = f"""\
# TYPE max_connections_connection_count gauge
max_connections_connection_count{{{IDS},service_type="postgresql"}} 60
# TYPE connection_stats_connection_count gauge
connection_stats_connection_count{{{IDS},service_type="postgresql",username="authenticator"}} 10
connection_stats_connection_count{{{IDS},service_type="postgresql",username="app_worker"}} 38
connection_stats_connection_count{{{IDS},service_type="postgresql",username="supabase_admin"}} 5
# TYPE pg_stat_database_num_backends gauge
pg_stat_database_num_backends{{{IDS},service_type="postgresql"}} 52
# TYPE pgrst_db_pool_max gauge
pgrst_db_pool_max{{{IDS},service_type="postgrest"}} 10
# TYPE pgrst_db_pool_available gauge
pgrst_db_pool_available{{{IDS},service_type="postgrest"}} 3
# TYPE pgrst_db_pool_waiting gauge
pgrst_db_pool_waiting{{{IDS},service_type="postgrest"}} 0
# TYPE pgrst_db_pool_timeouts_total counter
pgrst_db_pool_timeouts_total{{{IDS},service_type="postgrest"}} 4
"""


def _addons_body(name: str) -> object:
    text = (REAL / name).read_text()
    return json.loads("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))["body"]


def test_the_real_exposition_shows_every_pool() -> None:
    """The provider's published exposition (values zeroed) has every family read: the three
    usernames, the max, PostgREST's pool and the pooler."""
    text = (REAL / "prom_supabase_grafana_metrics_md_2025-06.prom").read_text()
    sample, _, _ = parse_sample(text, AT)
    assert (
        ConnReading(
            direct_used=0.0,
            direct_max=0.0,
            by_user=(("authenticator", 0.0), ("other", 0.0), ("supabase_admin", 0.0)),
            rest_max=0.0,
            rest_available=0.0,
            rest_waiting=0.0,
            rest_timeouts_total=0.0,
            pooler_used=0.0,
            pooler_max=0.0,
        )
        == sample.connections
    )


def test_a_scrape_counts_connections_per_username_most_first() -> None:
    """Direct connections are the sum over usernames (the busiest first); PostgREST's in use is
    its max less the available ones."""
    reading = read_connections(read_exposition(SCRAPE).series)
    assert reading is not None
    assert (53.0, 60.0, ("app_worker", 38.0), 7.0, 4.0) == (
        reading.direct_used,
        reading.direct_max,
        reading.by_user[0],
        reading.rest_used,
        reading.rest_timeouts_total,
    )


def test_without_usernames_the_backends_count() -> None:
    """An endpoint without connection_stats gives the backends of pg_stat_database."""
    lines = [ln for ln in SCRAPE.splitlines() if "connection_stats" not in ln]
    reading = read_connections(read_exposition("\n".join(lines) + "\n").series)
    assert reading is not None
    assert (52.0, ()) == (reading.direct_used, reading.by_user)


def test_a_scrape_without_connection_families_reads_none() -> None:
    """No connection family at all: nothing is made up."""
    assert read_connections([("node_load1", {}, 1.0)]) is None


def test_the_per_size_limits_are_the_add_ons_answer() -> None:
    """Every size in the recorded add-ons answer has the limits of the table, and the table
    has no size the answer lacks but nano (the compute page's figures)."""
    from_api = limits_from_addons(_addons_body("mgmt_billing_addons_GET_2.response.json.txt"))
    assert {t: CONNECTION_LIMITS[t] for t in from_api} == from_api
    assert {Tier.NANO} == set(CONNECTION_LIMITS) - set(from_api)
    assert ConnLimits(60, 200) == from_api[Tier.MICRO]


def test_a_broken_limit_in_the_add_ons_names_the_field() -> None:
    """A limit that is not a whole number is an error naming the variant and the field."""
    body = {
        "available_addons": [
            {
                "type": "compute_instance",
                "variants": [{"id": "ci_small", "meta": {"connections_direct": "90"}}],
            }
        ]
    }
    with pytest.raises(ValueError, match=r"ci_small\.meta\.connections_direct"):
        limits_from_addons(body)


@pytest.mark.parametrize(
    ("tier", "pool", "expected"),
    [
        (Tier.MICRO, DIRECT, (Tier.SMALL, 90)),
        (Tier.NANO, DIRECT, (Tier.SMALL, 90)),
        (Tier.MEDIUM, POOLER, (Tier.LARGE, 800)),
        (Tier.XL8, DIRECT, None),
        (Tier.MICRO, REST, None),
    ],
)
def test_a_bigger_size_raises_direct_and_pooler_limits_only(
    tier: Tier, pool: str, expected: tuple[Tier, int] | None
) -> None:
    """The smallest size that raises the pool's limit; none for PostgREST's pool or the top."""
    assert expected == bigger_limit(tier, pool)
