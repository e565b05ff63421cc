"""The three connection pools, and what one scrape of the metrics endpoint shows of them.

The provider's limits per size and the reading of the metrics families live in
``sbwatch.supabase.connections``; the value here is what a probe result carries.
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECT = "direct"
REST = "rest"
POOLER = "pooler"
POOLS = (DIRECT, REST, POOLER)
"""The three pools, in the order they are named: Postgres itself, PostgREST's, the pooler."""


@dataclass(frozen=True, slots=True)
class ConnReading:
    """The connections of one scrape; a limit of 0 or None is unknown (the size's applies)."""

    direct_used: float | None = None
    direct_max: float | None = None
    by_user: tuple[tuple[str, float], ...] = ()
    """Direct connections per username, most first."""
    rest_max: float | None = None
    rest_available: float | None = None
    rest_waiting: float | None = None
    rest_timeouts_total: float | None = None
    pooler_used: float | None = None
    pooler_max: float | None = None

    @property
    def rest_used(self) -> float | None:
        """PostgREST's pool connections in use."""
        if self.rest_max is None or self.rest_available is None:
            return None
        return max(0.0, self.rest_max - self.rest_available)
