"""The store as the daemon's cycle sees it: an outage of the state store loses nothing.

A transient StoreError (a SQLite file locked by another process, a PostgreSQL server that
restarts or fails over) marks the store away from the moment the failing call began. While it
is away:

- the writes of the cycle (probe results and states, transitions, samples, estimates, the
  diagnosis, the alert timers, alerts and their notifications) are held in memory, in order,
  and written in that order when the store answers again: an alert keeps the onset it was
  raised with, a notification the moment it was created. Of a state (a document, a probe's
  state) only the latest value is held; beyond ``MAX_HELD`` writes the oldest history goes;
- the reads of the cycle answer what the store last answered to the same question (times
  left aside; empty when never asked), with the alerts held meanwhile laid over the open
  alerts: an alert opened during the outage is not opened twice, one resolved is not kept;
  a state document answers what was last written to it (the mail cursor, read again when
  the mail connection is made again, is where reading stopped: no email is skipped);
- the outbox has nothing due (``daemon.storewatch`` delivers the notifications held);
- any other call (an escalation's intent, a lock, a lease) fails at once with a transient
  StoreError instead of waiting on the store again: those need the store to be done once.
  Their own failures do not make an outage (a lease conflict is not one);
- work that needs answers of the store (an incident's record: its id, its timeline) is handed
  to :meth:`GuardedStore.later` and done on the store when it returns, in its place among the
  writes held.

The store is not asked again until :meth:`GuardedStore.recover` writes to it (a small state
document, then everything held): a read-only check would pass on a SQLite file locked for
writing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sbwatch.core.clock import Clock
from sbwatch.core.errors import StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.results import Alert, Notification
from sbwatch.store.base import Store
from sbwatch.store.sqlite import SqliteStore

HELD_WRITES = frozenset(
    {
        "record_probe",
        "save_probe_status",
        "record_transition",
        "record_io_sample",
        "record_budget",
        "put_state",
        "delete_state",
        "record_diagnosis",
        "save_alert",
        "enqueue_notification",
    }
)
"""Writes of the cycle that can wait for the store: nothing they return is needed at once."""
CACHED_READS = frozenset(
    {
        "probe_statuses",
        "get_state",
        "recent_emails",
        "intents",
        "unfinished_intents",
        "open_alerts",
        "get_alert",
        "silences",
        "maintenance_windows",
        "acks",
        "alert_escalations",
        "current_incident",
        "notifications",
        "latest_budget",
        "latest_diagnosis",
        "transitions",
        "io_samples",
    }
)
"""Reads of the cycle answered from their last answer while the store is away; a question
never asked before is answered empty (nothing, or None for these:)."""
ONE_READS = frozenset(
    {"get_state", "get_alert", "current_incident", "latest_budget", "latest_diagnosis"}
)
HISTORY = frozenset({"record_probe", "record_io_sample", "record_budget", "record_diagnosis"})
"""Held writes that only add to the history: the first let go when too much is held."""
MAX_HELD = 50_000
"""Writes held at most (hours of a fleet's probes); beyond, the oldest history goes first:
never an alert, a message or a state."""
LATER = "later"
"""The op of a held piece of work (see :meth:`GuardedStore.later`)."""
ALIVE_NAMESPACE = "store"
ALIVE_KEY = "alive"


@dataclass
class Held:
    """One write held while the store is away."""

    op: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    sent_at: datetime | None = None
    """A notification delivered directly meanwhile: written to the outbox as sent."""
    written: Any = None
    """What the write returned once replayed (a replay cut short is not written twice)."""

    @property
    def notification(self) -> Notification | None:
        """The notification this write enqueues, as it will be stored (id 0: not yet)."""
        if self.op != "enqueue_notification":
            return None
        key, route, severity, title, body, at = self.args
        return Notification(
            0,
            key,
            route,
            severity,
            title,
            body,
            at,
            good_news=self.kwargs.get("good_news", False),
            lease=self.kwargs.get("lease"),
            sent_at=self.sent_at,
        )


def _latest_of(op: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What a write sets the latest value of (a state document, a probe's state), if any."""
    if op in ("put_state", "delete_state") and len(args) >= 2:
        return ("state", args[0], args[1])
    if op == "save_probe_status" and args:
        return ("status", args[0].project, args[0].probe)
    return None


def _cache_key(op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The question a read asks, times left aside (``silences(now)`` asks the same each time)."""
    kept = [a for a in args if not isinstance(a, datetime)]
    named = sorted((k, v) for k, v in kwargs.items() if not isinstance(v, datetime))
    return (op, *kept, *named)


class GuardedStore:
    """A Store that rides out an outage of the one it wraps (see the module)."""

    def __init__(self, store: Store, *, clock: Clock) -> None:
        self.inner = store
        self.clock = clock
        self.down_since: datetime | None = None
        self.why = ""
        self.held: list[Held] = []
        self._answers: dict[tuple[Any, ...], Any] = {}
        self._trying = False
        self.dropped = 0
        """History writes let go during this outage (see MAX_HELD)."""
        self._log = get_logger("store")
        if isinstance(store, SqliteStore):  # calls already waiting their turn fail at once
            store.refuse = self._refusing

    def _refusing(self) -> bool:
        return self.down_since is not None and not self._trying

    def store(self) -> Store:
        """This guard, typed as the Store it stands for."""
        return cast(Store, self)

    @property
    def up(self) -> bool:
        """Whether the store answers (as far as the last call knows)."""
        return self.down_since is None

    def __getattr__(self, op: str) -> Any:
        target = getattr(self.inner, op)
        if op in HELD_WRITES:
            return self._write(op, target)
        if op in CACHED_READS:
            return self._read(op, target)
        if op == "due_notifications":
            return self._due(target)
        if op in ("open", "close", "schema_version"):
            return target
        return self._other(op, target)

    def _away(self, started: datetime, exc: StoreError) -> None:
        if self.down_since is None:
            self.down_since = started
            self.why = str(exc)
            self._log.error("state store unavailable", error=str(exc), since=started.isoformat())

    def _write(self, op: str, target: Callable[..., Any]) -> Callable[..., Any]:
        async def write(*args: Any, **kwargs: Any) -> Any:
            self._remember(op, args)
            if self.down_since is None:
                started = self.clock.now()
                try:
                    return await target(*args, **kwargs)
                except StoreError as exc:
                    if not exc.transient:
                        raise
                    self._away(started, exc)
            held = Held(op, args, kwargs)
            same = _latest_of(op, args)
            if same is not None:  # only the latest value of a state is written
                self.held = [h for h in self.held if _latest_of(h.op, h.args) != same]
            self.held.append(held)
            if len(self.held) > MAX_HELD:
                self._let_go()
            return held.notification

        return write

    def _remember(self, op: str, args: tuple[Any, ...]) -> None:
        """A state document written is what reading it answers during an outage: the mail
        cursor read again on a reconnect is the one last written, not the one last read."""
        if op == "put_state" and len(args) >= 3:
            self._answers[_cache_key("get_state", args[:2], {})] = args[2]
        elif op == "delete_state" and len(args) >= 2:
            self._answers[_cache_key("get_state", args[:2], {})] = None

    def later(self, work: Callable[[Store], Awaitable[None]]) -> bool:
        """Do ``work`` on the store when it returns, after the writes held before it; False
        (nothing held) when the store is not away: a failure then was not an outage."""
        if self.down_since is None:
            return False
        self.held.append(Held(LATER, (work,), {}))
        return True

    def _let_go(self) -> None:
        """Drop the oldest held write of history, and say so once per outage."""
        for index, held in enumerate(self.held):
            if held.op in HISTORY:
                del self.held[index]
                if not self.dropped:
                    self._log.warning("state store away too long: oldest history dropped")
                self.dropped += 1
                return

    def _read(self, op: str, target: Callable[..., Any]) -> Callable[..., Any]:
        async def read(*args: Any, **kwargs: Any) -> Any:
            key = _cache_key(op, args, kwargs)
            if self.down_since is None:
                started = self.clock.now()
                try:
                    answer = await target(*args, **kwargs)
                except StoreError as exc:
                    if not exc.transient:
                        raise
                    self._away(started, exc)
                else:
                    self._answers[key] = answer
                    return answer
            cached: Any = self._answers.get(key, None if op in ONE_READS else [])
            if op == "open_alerts":
                return self._overlay(cached, args[0] if args else kwargs.get("project"))
            return cached

        return read

    def _overlay(self, stored: list[Alert], project: str | None) -> list[Alert]:
        """The open alerts as they stand with the alerts held meanwhile."""
        alerts = {a.key: a for a in stored}
        for held in self.held:
            if held.op != "save_alert":
                continue
            alert: Alert = held.args[0]
            if project is not None and alert.project != project:
                continue
            alerts.pop(alert.key, None)
            if alert.closed_at is None:
                alerts[alert.key] = alert
        return list(alerts.values())

    def _due(self, target: Callable[..., Any]) -> Callable[..., Any]:
        async def due(*args: Any, **kwargs: Any) -> Any:
            if self.down_since is not None:
                return []
            started = self.clock.now()
            try:
                return await target(*args, **kwargs)
            except StoreError as exc:
                if not exc.transient:
                    raise
                self._away(started, exc)
                return []

        return due

    def _other(self, op: str, target: Callable[..., Any]) -> Callable[..., Any]:
        async def other(*args: Any, **kwargs: Any) -> Any:
            if self.down_since is not None:
                raise StoreError(f"{op}: the state store is unavailable", transient=True)
            return await target(*args, **kwargs)  # a conflict here is not an outage

        return other

    async def recover(self) -> float | None:
        """Write to the store, then everything held, in order; the seconds it was away when
        it is back now (None: still away, or it never was)."""
        if self.down_since is None:
            return None
        now = self.clock.now()
        self._trying = True
        try:
            await self.inner.put_state(ALIVE_NAMESPACE, ALIVE_KEY, {"at": now.isoformat()})
            while self.held:
                await self._replay(self.held[0])
                self.held.pop(0)
        except StoreError as exc:
            self.why = str(exc)
            return None
        finally:
            self._trying = False
        away_s = (self.clock.now() - self.down_since).total_seconds()
        self.down_since = None
        self._log.warning(
            "state store available again", away_s=round(away_s, 1), history_dropped=self.dropped
        )
        self.dropped = 0
        return away_s

    async def _replay(self, held: Held) -> None:
        if held.op == LATER:
            await self._work(held.args[0])
            return
        if held.written is None:
            op = getattr(self.inner, held.op)
            held.written = await op(*held.args, **held.kwargs) or True
        if held.op == "enqueue_notification" and held.sent_at is not None:
            await self.inner.mark_sent(held.written.id, held.sent_at)

    async def _work(self, work: Callable[[Store], Awaitable[None]]) -> None:
        """Do a held piece of work; a failure of its own (not the store's) is logged and let
        go: it must not keep everything held after it from the store."""
        try:
            await work(self.inner)
        except StoreError:
            raise
        except Exception:  # one held piece's own bug must not hold back the rest
            self._log.exception("held work failed: let go")

    def first(self, since: int) -> None:
        """Move the writes held from position ``since`` on before every other: what concerns
        the outage's onset (its own warning) is said before what happened during it."""
        self.held[:] = self.held[since:] + self.held[:since]

    def pending_notifications(self) -> list[Held]:
        """The notifications held and not yet delivered, oldest first."""
        return [h for h in self.held if h.op == "enqueue_notification" and h.sent_at is None]

    def mark_delivered(self, held: Held, at: datetime) -> None:
        """A held notification was delivered directly: written to the outbox as sent."""
        held.sent_at = at
