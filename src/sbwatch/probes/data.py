"""Data probe: the project's ``[[projects.data_checks]]`` on one kept connection.

Each check runs in its own read-only transaction with the check's statement timeout, so a
check that fails (a missing table, a query too slow) leaves the others to run. The connection
is a ``KeptConnection`` like the db probe's, but its own: the two run on their own schedules,
an asyncpg connection serves one query at a time, and the liveness probe must never wait
behind a slow data check (it would read as a database outage).

The outcome is ``ok`` when every check is, else ``fail`` naming each failing check and its
table; each check's value and verdict travel in ``ProbeResult.checks``. The probe runs only
when the project has checks (its spec ``needs`` them).
"""

from __future__ import annotations

import asyncpg

from sbwatch.config.data_checks import DataCheckSettings
from sbwatch.core.results import DataCheckKind, DataCheckResult, Outcome, ProbeKind, ProbeResult
from sbwatch.data import checks
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import Timer, timeout_s
from sbwatch.probes._pg import CONNECTION_LOST, KeptConnection, outcome_of
from sbwatch.probes.base import ProbeContext

GRACE_S = 1.0
"""The client waits this much longer than the statement timeout before dropping the link."""


class DataProbe:
    """Do the project's tables hold what they should: rows, fresh values, sane sums?"""

    kind = ProbeKind.DATA

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        secret = ctx.project.db_dsn
        self._dsn = secret.get_secret_value() if secret is not None else ""
        self._checks = tuple(ctx.project.data_checks)
        limit = timeout_s(ctx, SPEC)
        self._kept = KeptConnection(
            self._dsn,
            connect_timeout_s=min(ctx.project.db.connect_timeout.total_seconds(), limit),
            query_timeout_s=limit,
        )
        self._memory = {check.name: checks.Memory() for check in self._checks}

    def __repr__(self) -> str:
        return f"DataProbe(project={self._ctx.project.ref!r}, checks={len(self._checks)})"

    async def run(self) -> ProbeResult:
        """Every check once; ``fail`` naming those that are not ok."""
        timer = Timer(self._ctx, self.kind)
        if not self._dsn:
            return timer.result(Outcome.ERROR, "no database DSN configured")
        if not self._checks:
            return timer.result(Outcome.OK, "no data checks configured")
        results: list[DataCheckResult] = []
        try:
            for check in self._checks:
                results.append(await self._check(check))
        except Exception as exc:  # mapped to an outcome below; anything unexpected re-raises
            outcome, detail = outcome_of(exc)  # a run cut short judges no check: none are kept
            return timer.result(outcome, detail)
        failing = [r for r in results if not r.ok]
        if not failing:
            return timer.result(Outcome.OK, checks=tuple(results))
        detail = "; ".join(f"{r.name} ({r.table}): {r.verdict}: {r.detail}" for r in failing)
        return timer.result(Outcome.FAIL, detail, checks=tuple(results))

    async def aclose(self) -> None:
        """Close the kept connection."""
        await self._kept.aclose()

    async def _check(self, check: DataCheckSettings) -> DataCheckResult:
        """One check's result; a lost connection or a hung server raises (the run fails)."""
        memory = self._memory[check.name]
        now = self._ctx.clock.now()
        known = memory.indexed_on == self._kept.opened
        limit = check.timeout.total_seconds() * (2 if check.kind is DataCheckKind.FRESH else 1)
        try:
            reading = await self._kept.run(
                lambda conn: checks.read(conn, check, now, index_known=known),
                timeout_s=limit + GRACE_S,
            )
        except CONNECTION_LOST:
            raise
        except (asyncpg.PostgresError, checks.NotANumber) as exc:
            return checks.failed(check, checks.error_detail(exc))
        if check.kind is DataCheckKind.FRESH and not reading.unindexed:
            memory.indexed_on = self._kept.opened
        return checks.judge(check, reading, memory, now)


SPEC = REGISTRY[ProbeKind.DATA]
