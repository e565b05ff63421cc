"""The simulator's ground truth for connections: Postgres's slots, a leak, PostgREST's pool.

Written apart from sbwatch's reading and policy (no shared code or constants):

- Postgres takes ``MAX_CONNECTIONS[size]`` connections; ``RESERVED`` of them are kept for
  superusers, so clients are refused (``remaining connection slots are reserved``) once the
  others are taken.
- Always open: the platform's (``supabase_admin``), PostgREST's pool (``authenticator``) and
  the application's own (``postgres``).
- A leak: a client (``app_worker``) opens ``leak_s`` connections a second and never closes
  them, until no slot is left; closing it (a restart of the client) frees them. A compute
  change restarts Postgres: every connection is closed, the leak goes on from nothing.
- While no slot is left, PostgREST's pool cannot replace a connection: its requests wait and
  time out, and REST answers 503.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CONNECTIONS = {
    "nano": 60,
    "micro": 60,
    "small": 90,
    "medium": 120,
    "large": 160,
    "xl": 240,
    "2xl": 380,
    "4xl": 480,
    "8xl": 490,
}
"""``max_connections`` per size, as the provider's add-ons answer gives ``connections_direct``."""
RESERVED = 3
PLATFORM = 5
REST_POOL = 10
APP = 5
LEAKER = "app_worker"
REFUSED = "remaining connection slots are reserved for non-replication superuser connections"
TIMEOUTS_S = 0.5
"""PostgREST requests that time out each second while no slot is left."""


@dataclass
class Pools:
    """One project's connections; times are the world's monotonic seconds."""

    size: str = "micro"
    leaked: float = 0.0
    leak_s: float = 0.0
    rest_timeouts: float = 0.0
    t: float = 0.0

    @property
    def max_connections(self) -> int:
        """Postgres's limit on this size."""
        return MAX_CONNECTIONS[self.size]

    @property
    def steady(self) -> int:
        """The connections always open."""
        return PLATFORM + REST_POOL + APP

    @property
    def used(self) -> float:
        """Every connection open now."""
        return self.steady + self.leaked

    @property
    def room(self) -> float:
        """The most the leak can hold: every slot but the reserved ones."""
        return max(0.0, self.max_connections - RESERVED - self.steady)

    @property
    def full(self) -> bool:
        """No slot left for a client: new connections are refused."""
        return self.leaked >= self.room - 1e-9

    @property
    def ratio(self) -> float:
        """The used share of ``max_connections``."""
        return self.used / self.max_connections

    def advance(self, start: float, end: float) -> None:
        """Run from ``start`` to ``end``: the leak fills, the full pool times requests out."""
        t = max(start, self.t)
        if end <= t:
            return
        if self.full:
            self.rest_timeouts += TIMEOUTS_S * (end - t)
        elif self.leak_s > 0:
            fills = t + (self.room - self.leaked) / self.leak_s
            self.leaked = min(self.room, self.leaked + self.leak_s * (end - t))
            if fills < end:
                self.rest_timeouts += TIMEOUTS_S * (end - fills)
        self.t = end

    def restart(self, size: str) -> None:
        """Postgres restarts on ``size``: every connection closed."""
        self.size = size
        self.leaked = 0.0

    def by_user(self) -> dict[str, float]:
        """Open connections per username."""
        return {
            "supabase_admin": float(PLATFORM),
            "authenticator": float(REST_POOL),
            "postgres": float(APP),
            LEAKER: self.leaked,
        }
