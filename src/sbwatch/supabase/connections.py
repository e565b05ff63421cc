"""Provider facts about connections: the per-size limits and what the metrics endpoint shows.

Source: the Management API's add-ons answer (``GET /v1/projects/{ref}/billing/addons``: each
compute variant's ``meta`` has ``connections_direct`` and ``connections_pooler``, recorded in
tests/fixtures/real/mgmt_billing_addons_GET_2.response.json.txt) and the provider's compute
page (nano: 60 and 200), as of December 2026. Postgres's ``max_connections`` is the direct
limit; the pooler's is the number of clients it takes. The PostgREST pool is set by the
provider apart from the size (``pgrst_db_pool_max``): a bigger size does not raise it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sbwatch.core.connections import DIRECT, POOLER, ConnReading
from sbwatch.core.tiers import Tier, tier_for_variant


@dataclass(frozen=True, slots=True)
class ConnLimits:
    """The connections one compute size allows."""

    direct: int
    """Postgres ``max_connections``."""
    pooler: int
    """Clients the pooler takes."""


LIMITS_DATE = "2026-12"
CONNECTION_LIMITS: Mapping[Tier, ConnLimits] = {
    Tier.NANO: ConnLimits(60, 200),
    Tier.MICRO: ConnLimits(60, 200),
    Tier.SMALL: ConnLimits(90, 400),
    Tier.MEDIUM: ConnLimits(120, 600),
    Tier.LARGE: ConnLimits(160, 800),
    Tier.XL: ConnLimits(240, 1000),
    Tier.XL2: ConnLimits(380, 1500),
    Tier.XL4: ConnLimits(480, 3000),
    Tier.XL8: ConnLimits(490, 6000),
}

RESERVED_SLOTS = 3
"""Direct connections Postgres keeps for superusers (``superuser_reserved_connections``): the
others are refused ``remaining connection slots are reserved`` once ``max_connections`` less
these are taken."""
TOO_MANY_ERRORS = ("too many connections", "remaining connection slots are reserved")
"""What Postgres answers a connection it cannot take (SQLSTATE 53300)."""
POOLER_FULL_ERRORS = (
    "max client connections reached",
    "max clients reached",
    "no more connections allowed",
)
"""What the pooler answers a client it cannot take: Supavisor's ``(EMAXCONN) max client
connections reached, limit: N`` and ``(EMAXCONNSESSION) max clients reached in session mode``
(SQLSTATE XX000, older ones ``Max client connections reached``, some clients report it as
``MaxClientsInSessionMode: max clients reached``), PgBouncer's ``no more connections allowed
(max_client_conn)``."""
POOLER_REFUSED = "too many connections: the pooler takes no more clients (max clients reached)"
"""The db probe's detail when the pooler refused it."""
POOLER_CONFIG_PATH = "/v1/projects/{ref}/config/database/pooler"
"""Where the pooler's ``default_pool_size`` is read and changed (``PATCH``)."""


Series = tuple[str, Mapping[str, str], float]
WANTED = frozenset(
    {
        "max_connections_connection_count",
        "connection_stats_connection_count",
        "pg_stat_database_num_backends",
        "pgrst_db_pool_available",
        "pgrst_db_pool_max",
        "pgrst_db_pool_waiting",
        "pgrst_db_pool_timeouts_total",
        "pgbouncer_pools_client_active_connections",
        "pgbouncer_pools_client_waiting_connections",
        "pgbouncer_config_max_client_connections",
    }
)
"""The families of the metrics endpoint the connections are read from."""


def read_connections(series: Iterable[Series]) -> ConnReading | None:
    """The connections in a scrape's samples; None when it shows none of them."""
    sums: dict[str, float] = {}
    users: dict[str, float] = {}
    for name, labels, value in series:
        if name not in WANTED:
            continue
        sums[name] = sums.get(name, 0.0) + value
        if name == "connection_stats_connection_count":
            user = labels.get("username", "")
            users[user] = users.get(user, 0.0) + value
    if not sums:
        return None
    if users:
        direct_used: float | None = sum(users.values())
    else:
        direct_used = sums.get("pg_stat_database_num_backends")
    pooler_used = None
    if "pgbouncer_pools_client_active_connections" in sums:
        pooler_used = sums["pgbouncer_pools_client_active_connections"] + sums.get(
            "pgbouncer_pools_client_waiting_connections", 0.0
        )
    return ConnReading(
        direct_used=direct_used,
        direct_max=sums.get("max_connections_connection_count"),
        by_user=tuple(sorted(users.items(), key=lambda kv: (-kv[1], kv[0]))),
        rest_max=sums.get("pgrst_db_pool_max"),
        rest_available=sums.get("pgrst_db_pool_available"),
        rest_waiting=sums.get("pgrst_db_pool_waiting"),
        rest_timeouts_total=sums.get("pgrst_db_pool_timeouts_total"),
        pooler_used=pooler_used,
        pooler_max=sums.get("pgbouncer_config_max_client_connections"),
    )


def pooler_full(message: str) -> bool:
    """Whether a server's error message is the pooler refusing a client for want of room."""
    text = message.lower()
    return any(error in text for error in POOLER_FULL_ERRORS)


def refusing_pool(detail: str) -> str | None:
    """The pool a db probe's failure says refused it for want of room: the pooler, Postgres
    (``DIRECT``), or None when the failure is something else."""
    text = detail.lower()
    if POOLER_REFUSED in text:
        return POOLER
    return DIRECT if any(error in text for error in TOO_MANY_ERRORS) else None


def limits(tier: Tier) -> ConnLimits:
    """The published connection limits of one size."""
    return CONNECTION_LIMITS[tier]


def bigger_limit(tier: Tier, pool: str) -> tuple[Tier, int] | None:
    """The smallest size above ``tier`` that raises ``pool``'s limit, with that limit.

    None for PostgREST's pool (not set by the size) and at the top of the table."""
    if pool not in (DIRECT, POOLER):
        return None
    order = list(Tier)
    now = _limit(limits(tier), pool)
    for bigger in order[order.index(tier) + 1 :]:
        limit = _limit(limits(bigger), pool)
        if limit > now:
            return bigger, limit
    return None


def _limit(size: ConnLimits, pool: str) -> int:
    return size.direct if pool == DIRECT else size.pooler


def size_limit(tier: Tier, pool: str) -> int | None:
    """The limit the size sets on ``pool`` (None for PostgREST's pool)."""
    return _limit(limits(tier), pool) if pool in (DIRECT, POOLER) else None


def limits_from_addons(body: Any) -> dict[Tier, ConnLimits]:
    """Per-size limits from an add-ons answer (every compute variant's ``meta``).

    Raises ValueError naming the field when a variant's limits are not whole numbers."""
    found: dict[Tier, ConnLimits] = {}
    for addon in body.get("available_addons", []) if isinstance(body, dict) else []:
        if not isinstance(addon, dict) or addon.get("type") != "compute_instance":
            continue
        for variant in addon.get("variants", []):
            tier = tier_for_variant(str(variant.get("id", "")))
            meta = variant.get("meta") or {}
            if tier is None or "connections_direct" not in meta:
                continue
            values = []
            for key in ("connections_direct", "connections_pooler"):
                value = meta.get(key)
                if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                    raise ValueError(f"addons {variant.get('id')}.meta.{key}: not a whole number")
                values.append(value)
            found[tier] = ConnLimits(values[0], values[1])
    return found
