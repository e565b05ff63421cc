"""The mail watcher under supervision: its stop is an alert, a metric and a line of status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError, StoreError
from sbwatch.core.log import get_logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.ingest.watcher_state import MAIL_WATCHER, MailWatcher
from sbwatch.store.base import StateStore

STATE_KEY = MAIL_WATCHER.key
"""The state document (namespace ``imap``) that ``sbwatch status`` reads."""
RESTART_FIRST_S = 60.0
RESTART_MAX_S = 3600.0
Notify = Callable[[Severity, str, str], Awaitable[None]]
log = get_logger("mail")


class MailGuard:
    """Runs the mail watcher until cancelled; when it stops, says so and starts it again.

    The stop is said once (an alert, ``sbwatch_mail_watcher_up`` at 0, the state document);
    restarts back off from a minute to an hour, and a restart clears the state.
    """

    def __init__(
        self,
        run: Callable[[], Awaitable[None]],
        store: StateStore,
        *,
        clock: Clock,
        metrics: Metrics,
        notify: Notify,
    ) -> None:
        self._run = run
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._notify = notify

    async def run(self) -> None:
        """Watch, and restart after each stop, until cancelled."""
        delay = RESTART_FIRST_S
        said = False
        while True:
            self._metrics.mail_watcher_up.set(1)
            await self._save(MailWatcher("watching", self._clock.now()))
            started = self._clock.monotonic()
            detail = await self._watch()
            self._metrics.mail_watcher_up.set(0)
            if self._clock.monotonic() - started > RESTART_MAX_S:
                delay, said = RESTART_FIRST_S, False  # it ran for long: a new stop is news
            await self._save(MailWatcher("stopped", self._clock.now(), detail))
            if not said:
                said = True
                await self._say(detail, delay)
            await self._clock.sleep(delay)
            delay = min(delay * 2, RESTART_MAX_S)

    async def _watch(self) -> str:
        """Run the watcher once; what stopped it (it only ends by an exception)."""
        try:
            await self._run()
        except Exception as exc:
            # Only sbwatch's own messages are known to be free of secrets; of others, the type.
            detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, SbwatchError) else ""
            log.error("mail watcher stopped", error=type(exc).__name__, detail=detail)
            return detail or type(exc).__name__
        log.error("mail watcher stopped", error="returned")
        return "the watcher returned"

    async def _say(self, detail: str, delay: float) -> None:
        body = (
            f"sbwatch stopped reading the provider's emails ({detail}); it tries again in "
            f"{delay:g} s. Until then a Supabase warning email reaches no one through sbwatch."
        )
        try:
            await self._notify(Severity.CRITICAL, "mail watcher stopped", body)
        except Exception as exc:  # saying so must not take the guard down with the watcher
            log.error("mail watcher stop not said", error=type(exc).__name__)

    async def _save(self, state: MailWatcher) -> None:
        """Keep the watcher's state (the one ``sbwatch status`` reads)."""
        try:
            await MAIL_WATCHER.write(self._store, state)
        except StoreError as exc:
            log.warning("mail watcher state not saved", error=str(exc))
