"""Database probe: ``SELECT 1`` on one kept connection, and a fresh connection every N runs.

Sparing the watched server is the point: the kept connection runs ``SELECT 1`` over the simple
query protocol (no prepared statement, no type introspection, no table touched), so a liveness
run reads zero blocks. Every ``db.fresh_connection_every`` runs a new connection is opened and
closed at once to prove that new clients can still connect (a new backend does read a few
catalog blocks). The kept connection is ``probes._pg.KeptConnection``, shared with the data
probe's code: a broken one is replaced within the same run, so a restart is not an outage.
"""

from __future__ import annotations

from typing import Any

from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import Timer, timeout_s
from sbwatch.probes._pg import KeptConnection, outcome_of
from sbwatch.probes.base import ProbeContext

LIVENESS_QUERY = "SELECT 1"


class DbProbe:
    """Is PostgreSQL answering, and can new clients connect?"""

    kind = ProbeKind.DB

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        secret = ctx.project.db_dsn
        self._dsn = secret.get_secret_value() if secret is not None else ""
        query_timeout = timeout_s(ctx, SPEC)
        self._kept = KeptConnection(
            self._dsn,
            connect_timeout_s=min(ctx.project.db.connect_timeout.total_seconds(), query_timeout),
            query_timeout_s=query_timeout,
        )
        self._every = ctx.project.db.fresh_connection_every
        self._runs_since_proof = 0

    def __repr__(self) -> str:
        return f"DbProbe(project={self._ctx.project.ref!r})"

    async def run(self) -> ProbeResult:
        """One liveness query, plus a fresh connection when one is due."""
        timer = Timer(self._ctx, self.kind)
        if not self._dsn:
            return timer.result(Outcome.ERROR, "no database DSN configured")
        try:
            await self._observe()
        except Exception as exc:  # mapped to an outcome below; anything unexpected re-raises
            outcome, detail = outcome_of(exc)
            return timer.result(outcome, detail)
        return timer.result(Outcome.OK)

    async def aclose(self) -> None:
        """Close the kept connection."""
        await self._kept.aclose()

    async def _observe(self) -> None:
        self._runs_since_proof += 1
        opened = self._kept.opened
        if self._kept.is_open and self._runs_since_proof >= self._every:
            await self._kept.prove_connectable()
            self._runs_since_proof = 0
        await self._kept.run(_liveness)
        if self._kept.opened != opened:  # a new kept connection proves connectability too
            self._runs_since_proof = 0


async def _liveness(conn: Any) -> None:
    await conn.execute(LIVENESS_QUERY)


SPEC = REGISTRY[ProbeKind.DB]
