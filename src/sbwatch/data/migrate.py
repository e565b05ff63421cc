"""Applying migrations through the Management API's query endpoint, each once, in order.

What is retried, and when:
- a 429 was not processed: it is sent again after the time the API names;
- an answer that says a statement failed (the DO block names it) changed nothing: if the
  ledger now holds the version, another run applied it first (two `sql apply` at once) and
  it counts as applied; otherwise the run stops there, reporting the statement and the
  provider's words; so does the database's own error for a file with its own transactions
  (what its transactions committed stays);
- a file that runs outside a transaction (CONCURRENTLY, VACUUM) is sent a statement at a
  time; a 429 resends that statement after the wait, any other failure stops the run (the
  statements before it stay, the ledger does not record the file);
- any other failure (a 5xx, a lost answer) may have run: the ledger is asked first. If it
  holds the version, the file is applied. If not, it is sent again only when the API said it
  may be (``Retry-After``), and the ledger is asked again right before; otherwise the run stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, AuthRejected, RateLimited
from sbwatch.data import migrations as m

APPLY_TIMEOUT_S = 300.0
"""How long one migration may take before its answer counts as lost."""
MAX_WAIT_S = 120.0
"""The longest wait the API may ask for before a resend; longer, and the run stops."""
ATTEMPTS = 3
ANOTHER_RUN = "already applied by another run"
"""The note of a migration whose statements the database refused because a concurrent run
applied and recorded it first."""


class QueryApi(Protocol):
    """The one call migrations need (``ManagementApi.run_query``)."""

    async def run_query(
        self, ref: str, query: str, *, read_only: bool = False, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Run SQL on the project's database; the rows of its last statement."""
        ...


@dataclass(frozen=True)
class Step:
    """What became of one migration."""

    migration: m.Migration
    status: Literal["applied", "failed", "unknown"]
    note: str = ""
    statement: int | None = None
    """The number (from 1) of the statement that failed."""
    error: str = ""
    """The provider's own words."""

    @property
    def failed_sql(self) -> str:
        """The text of the statement that failed ("" when none is named)."""
        if self.statement is None or not 0 < self.statement <= len(self.migration.statements):
            return ""
        return self.migration.statements[self.statement - 1]


async def read_ledger(api: QueryApi, ref: str) -> list[m.Applied]:
    """The ledger's rows, oldest version first; none when it does not exist yet."""
    present = await api.run_query(ref, m.LEDGER_EXISTS, read_only=True)
    if not present or not present[0].get("present"):
        return []
    rows = await api.run_query(ref, m.READ_LEDGER, read_only=True)
    return [m.Applied(str(r["version"]), str(r["name"]), int(r["statements"])) for r in rows]


async def ensure_ledger(api: QueryApi, ref: str) -> None:
    """Create the ledger as the provider's CLI does, if it is not there."""
    await api.run_query(ref, m.CREATE_LEDGER)


async def in_ledger(api: QueryApi, ref: str, version: str) -> bool:
    """Whether the ledger holds ``version``."""
    rows = await api.run_query(ref, m.ledger_has_sql(version), read_only=True)
    return bool(rows and rows[0].get("applied"))


async def apply_all(
    api: QueryApi, ref: str, todo: Sequence[m.Migration], *, clock: Clock
) -> list[Step]:
    """Apply each migration in order; stop at the first that is not applied."""
    steps: list[Step] = []
    for migration in todo:
        steps.append(await apply_one(api, ref, migration, clock=clock))
        if steps[-1].status != "applied":
            break
    return steps


async def apply_one(api: QueryApi, ref: str, migration: m.Migration, *, clock: Clock) -> Step:
    """One migration in one request (a statement at a time outside a transaction); resent
    only as the module's rules allow."""
    if migration.mode == m.OUTSIDE:
        return await _apply_outside(api, ref, migration, clock)
    for attempt in range(ATTEMPTS):
        if attempt and await in_ledger(api, ref, migration.version):
            return Step(migration, "applied", note="the ledger holds it (an earlier attempt)")
        try:
            await api.run_query(ref, m.apply_sql(migration), timeout_s=APPLY_TIMEOUT_S)
        except AuthRejected:
            raise
        except RateLimited as exc:
            wait = exc.retry_after_s  # not processed: the API says when to ask again
        except ApiError as exc:
            number = m.failed_statement(exc.provider_message)
            words = exc.provider_message or str(exc)
            refused = number is not None or m.is_sql_error(exc.provider_message)
            if refused and await in_ledger(api, ref, migration.version):
                # the database refused ours, so nothing of it committed: another run's did
                return Step(migration, "applied", note=ANOTHER_RUN)
            if number is not None:
                return Step(migration, "failed", "rolled back", statement=number, error=words)
            if migration.mode == m.OWN and m.is_sql_error(exc.provider_message):
                note = "the database refused it; what its own transactions committed stays"
                return Step(migration, "failed", note, error=words)
            if await in_ledger(api, ref, migration.version):
                return Step(
                    migration, "applied", note=f"the answer was lost ({exc}); the ledger holds it"
                )
            if exc.status is not None and exc.status < 500:
                return Step(migration, "failed", "refused; nothing ran", error=words)
            if exc.retry_after_s is None:
                note = (
                    "not in the ledger, so nothing of it was committed; it may still be running:"
                    " not sent again (see sbwatch sql status)"
                )
                return Step(migration, "unknown", note, error=words)
            wait = exc.retry_after_s
        else:
            return Step(migration, "applied")
        if wait > MAX_WAIT_S:
            note = f"the API asks to wait {wait:.0f}s; not waiting that long"
            return Step(migration, "failed", note, error="rate limited")
        await clock.sleep(wait)
    return Step(migration, "failed", f"gave up after {ATTEMPTS} attempts")


async def _apply_outside(api: QueryApi, ref: str, migration: m.Migration, clock: Clock) -> Step:
    """Each statement its own request, then the ledger row: as the CLI runs such a file."""
    kept = "statements before it stay applied; the ledger does not record the file"
    for number, statement in migration.code:
        for _ in range(ATTEMPTS):
            try:
                await api.run_query(ref, statement, timeout_s=APPLY_TIMEOUT_S)
            except AuthRejected:
                raise
            except RateLimited as exc:  # not processed: send it again after the wait
                if exc.retry_after_s > MAX_WAIT_S:
                    return Step(migration, "failed", kept, statement=number, error="rate limited")
                await clock.sleep(exc.retry_after_s)
                continue
            except ApiError as exc:
                words = exc.provider_message or str(exc)
                if m.is_sql_error(exc.provider_message):
                    if await in_ledger(api, ref, migration.version):
                        return Step(migration, "applied", note=ANOTHER_RUN)
                    return Step(migration, "failed", kept, statement=number, error=words)
                return Step(migration, "unknown", kept, statement=number, error=words)
            break
        else:
            return Step(migration, "failed", kept, statement=number, error="rate limited")
    try:
        await api.run_query(ref, m.record_sql(migration))
    except ApiError as exc:
        if await in_ledger(api, ref, migration.version):
            if m.is_sql_error(exc.provider_message):  # our row was refused: another's is there
                return Step(migration, "applied", note=ANOTHER_RUN)
            return Step(migration, "applied", note=f"the answer was lost ({exc}); recorded")
        note = "every statement ran but the ledger row was not written (sbwatch sql status)"
        return Step(migration, "unknown", note, error=exc.provider_message or str(exc))
    return Step(migration, "applied", note="outside a transaction, a statement at a time")
