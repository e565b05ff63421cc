"""Provider emails over IMAP: IDLE push with a poll fallback, a durable UID cursor, reconnects."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sbwatch.config.settings import MailSettings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import MailError, StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import EmailKind, ProviderEmail
from sbwatch.ingest import MAIL_NAMESPACE
from sbwatch.ingest.parse import TrustRule, parse_email
from sbwatch.ingest.session import ImapSession, Selected
from sbwatch.store.base import Store
from sbwatch.store.docs import Slot, field, reading, slot

NAMESPACE = MAIL_NAMESPACE
BATCH = 50
IDLE_LIMIT_S = 29 * 60
log = get_logger("mail")


@dataclass(frozen=True, slots=True)
class MailboxReport:
    """What ``sbwatch mail check`` shows."""

    host: str
    username: str
    mailbox: str
    uidvalidity: int
    uidnext: int
    messages: int
    idle: bool
    cursor: MailCursor | None
    recent: tuple[ProviderEmail, ...]


@dataclass(frozen=True, slots=True)
class MailCursor:
    """The mailbox cursor: the last UID handled, valid while the mailbox keeps its
    UIDVALIDITY. Stored as ``{"uidvalidity": 1, "last_uid": 42}``."""

    uidvalidity: int
    last_uid: int

    def to_doc(self) -> dict[str, Any]:
        """The stored form."""
        return {"uidvalidity": self.uidvalidity, "last_uid": self.last_uid}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> MailCursor:
        """The inverse of :meth:`to_doc`; ValueError naming the field when malformed."""
        return reading(
            "mailbox cursor",
            lambda: cls(field(doc, "uidvalidity", int), field(doc, "last_uid", int)),
        )


def cursor_slot(key: str) -> Slot[MailCursor]:
    """Where the cursor of one mailbox (``host/username/mailbox``) is kept."""
    return slot(NAMESPACE, key, MailCursor)


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Capped exponential backoff with jitter: between half and all of min(max, base * 2^n)."""
    ceiling = min(max_s, base_s * 2.0 ** min(attempt, 30))
    return ceiling * (0.5 + 0.5 * rng.random())


class MailWatcher:
    """Watches one mailbox and turns each new message into a stored ``ProviderEmail``."""

    def __init__(
        self,
        settings: MailSettings,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        on_email: Callable[[ProviderEmail], Awaitable[None]],
        rule: TrustRule,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 300.0,
        timeout_s: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._on_email = on_email
        self._rule = rule
        self._base = backoff_base_s
        self._max = backoff_max_s
        self._timeout = timeout_s
        self._rng = rng or random.Random()
        self.key = f"{settings.host}/{settings.username}/{settings.mailbox}"
        self._kept = cursor_slot(self.key)
        self.login_attempts = 0

    async def run(self) -> None:
        """Watch until cancelled, reconnecting with capped exponential backoff."""
        attempt = 0
        while True:
            session = ImapSession(self._settings, self._timeout)
            try:
                self.login_attempts += 1
                await session.connect()
                attempt = 0
                await self._watch(session)
            except (MailError, StoreError) as exc:
                if isinstance(exc, StoreError) and not exc.transient:
                    raise
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # A stop asked during a library call that turned it into an error (a
                    # timeout racing the cancellation): stop, never retry for ever.
                    raise asyncio.CancelledError from exc
                delay = backoff_delay(attempt, self._base, self._max, self._rng)
                attempt += 1
                log.error(
                    _failure_event(exc),
                    host=self._settings.host,
                    error=str(exc),
                    retry_in_s=round(delay, 2),
                )
                await self._clock.sleep(delay)
            finally:
                await session.close()

    async def check(self) -> MailboxReport:
        """Connect, log in, examine the mailbox and report it with the last classified emails."""
        session = ImapSession(self._settings, self._timeout)
        try:
            await session.connect()
            selected = await session.select(self._settings.mailbox, readonly=True)
            idle = session.supports_idle
        finally:
            await session.close()
        cursor = await self._kept.read(self._store)
        since = self._clock.now() - timedelta(days=30)
        recent = await self._store.recent_emails(since)
        s = self._settings
        return MailboxReport(
            s.host, s.username, s.mailbox, selected.uidvalidity, selected.uidnext,
            selected.messages, idle, cursor, tuple(recent[-10:]),
        )  # fmt: skip

    async def _watch(self, session: ImapSession) -> None:
        selected = await session.select(self._settings.mailbox)
        last_uid = await self._cursor(selected)
        log.info(
            "mail watching",
            mailbox=self._settings.mailbox,
            last_uid=last_uid,
            idle=session.supports_idle,
        )
        use_idle = session.supports_idle
        renew = min(self._settings.idle_renew.total_seconds(), IDLE_LIMIT_S)
        while True:
            last_uid = await self._drain(session, selected.uidvalidity, last_uid)
            if use_idle:
                try:
                    await session.idle(renew)
                    continue
                except MailError as exc:
                    if not session.alive:
                        raise
                    log.warning("mail idle failed, polling instead", error=str(exc))
                    use_idle = False
            await self._clock.sleep(self._settings.poll_interval.total_seconds())

    async def _cursor(self, selected: Selected) -> int:
        newest = max(selected.uidnext - 1, 0)
        try:
            stored = await self._kept.read(self._store)
        except ValueError as exc:  # unreadable: as if the mailbox had changed
            log.warning("mail cursor unreadable", error=str(exc), new=selected.uidvalidity)
            start = newest
        else:
            if stored is not None and stored.uidvalidity == selected.uidvalidity:
                return stored.last_uid
            if stored is not None:
                log.warning(
                    "mail uidvalidity changed", old=stored.uidvalidity, new=selected.uidvalidity
                )
                start = newest
            else:
                start = 0 if self._settings.backfill else newest
        await self._kept.write(self._store, MailCursor(selected.uidvalidity, start))
        return start

    async def _drain(self, session: ImapSession, uidvalidity: int, last_uid: int) -> int:
        uids = await session.uids_after(last_uid)
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            bodies = await session.fetch(batch)
            for uid in batch:
                raw = bodies.get(uid)
                if raw is not None:
                    await self._handle(session, uid, raw, uidvalidity)
                else:
                    await self._advance(uidvalidity, uid)
                last_uid = uid
        return last_uid

    async def _advance(self, uidvalidity: int, uid: int) -> None:
        await self._kept.write(self._store, MailCursor(uidvalidity, uid))

    async def _handle(self, session: ImapSession, uid: int, raw: bytes, uidvalidity: int) -> None:
        try:
            email = await self._parse(raw)
            new = False if email is None else await self._store.record_email(email)
        except StoreError as exc:
            if exc.transient:
                raise  # the store is away: the message is read again once it is back
            email, reason = None, str(exc)
        except Exception as exc:
            # Whatever one message does to the parser or the store, the next ones are read.
            email, reason = None, type(exc).__name__
        else:
            reason = "not an email"
        if email is None:
            self._metrics.emails.labels(kind=EmailKind.OTHER.value, outcome="unparseable").inc()
            log.warning("email unreadable", uid=uid, size=len(raw), reason=reason)
            await self._advance(uidvalidity, uid)
            return
        outcome = ("trusted" if email.trusted else "untrusted") if new else "duplicate"
        self._metrics.emails.labels(kind=email.kind.value, outcome=outcome).inc()
        log.info(
            "email classified", uid=uid, kind=email.kind.value, outcome=outcome,
            project=email.project_ref, reason=email.trust_reason,
        )  # fmt: skip
        await self._advance(uidvalidity, uid)
        await self._after(session, uid)
        if new:
            await self._deliver(uid, email)

    async def _deliver(self, uid: int, email: ProviderEmail) -> None:
        """Hand a new email on; its failure is logged and the mailbox is read on (the email is
        stored, and the store is where the rest of the daemon finds it again)."""
        try:
            await self._on_email(email)
        except Exception as exc:  # one email's handling must not stop the mailbox being read
            detail = str(exc) if isinstance(exc, StoreError | MailError) else ""
            log.error("email handling failed", uid=uid, error=type(exc).__name__, detail=detail)

    async def _parse(self, raw: bytes) -> ProviderEmail | None:
        """Parse in a thread (the DKIM key lookup blocks); past the deadline, the email is
        recorded all the same, untrusted because its key lookup did not finish."""
        now = self._clock.now()
        limit = self._rule.timeout_s + 5.0
        try:
            async with asyncio.timeout(limit):
                return await asyncio.to_thread(parse_email, raw, self._rule, fallback_time=now)
        except TimeoutError:
            rule = self._rule.offline(f"no answer within {limit:g} s")
            return parse_email(raw, rule, fallback_time=now)

    async def _after(self, session: ImapSession, uid: int) -> None:
        if self._settings.flag_processed:
            await session.mark_seen(uid)
        if self._settings.processed_folder:
            await session.move(uid, self._settings.processed_folder)


def _failure_event(exc: MailError | StoreError) -> str:
    if isinstance(exc, StoreError):
        return "mail waits for the state store"
    return "mail login refused" if not exc.transient else "mail connection failed"
