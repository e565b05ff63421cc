"""The replay's fast path through quiet minutes: nothing asked, nothing decided, nothing moved.

Most minutes of a case are quiet: every probe would answer as it did a minute ago, and the
evaluation that follows would find what it found then. Two shortcuts skip that work without
changing a decision:

- ``settled_probe``: a probe whose answer is known without asking (sim/steady.py) and leaves
  its state where it is (no transition, no confirmation run) only moves its status on: the
  watcher's own ``next_status`` with that result. What the watcher writes besides (the result
  row, the saved status, its gauges) is read by nothing in a replay.
- ``QuietEvaluations``: an evaluation is skipped while everything it reads is what the last
  one read, and that one was idle: a healthy diagnosis, no alert open or pending, no change
  of size under way, no message, nothing it changed. Such an evaluation depends on the time
  only through timers that none of these states runs (an alert waiting to open, to remind or
  to resolve; a change being verified; a failure's cause awaited), so it would decide the
  same again.

``tests/replay/test_fast_path.py`` holds the fast path's reports equal to the full path's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    Diagnosis,
    IntentState,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    Severity,
)
from sbwatch.policy.alerts import FORECAST_QUIET
from sbwatch.policy.diagnosis import CAUSE_WAIT, QUEUE_SIGN_S
from sbwatch.policy.escalation import CHANGED, FAILED_RETRY, UNFINISHED
from sbwatch.policy.resources import OOM_NOTICE
from sbwatch.policy.thresholds import next_status
from sbwatch.sim.steady import SteadyProbe
from sbwatch.watch.pipeline import EMAIL_LOOKBACK
from sbwatch.watch.runtime import ProjectView
from sbwatch.watch.state import correction_slot
from sbwatch.watch.watcher import Watcher


async def settled_probe(watcher: Watcher, ref: str, kind: ProbeKind) -> bool:
    """Move a probe's status on without its HTTP request, when only its time changes.

    False when the watcher must run the probe (its answer is not known, or it changes the
    state or starts confirming a failure); a known answer is handed to that run.
    """
    view = watcher.projects[ref]
    probe = view.probes[kind]
    before = view.statuses.get(kind)
    if not isinstance(probe, SteadyProbe) or before is None:
        return False
    result = await probe.reuse()
    if result is None:
        return False
    settings = view.settings.probes[kind]
    status, transition = next_status(before, result, settings)
    confirming = not result.ok and settings.confirm_after is not None
    if transition is not None or (confirming and status.state is not ProbeState.DOWN):
        probe.hold(result)  # the watcher's run gets this very result
        return False
    watcher.settle(ref, kind, status)
    return True


class QuietEvaluations:
    """Skips evaluations that would repeat an idle one (see the module doc)."""

    def __init__(self, watcher: Watcher, made: Callable[[], int]) -> None:
        """``made``: how many messages and size changes the replay has seen made so far."""
        self._watcher = watcher
        self._made = made
        self._idle: dict[str, tuple[Diagnosis, datetime, tuple[object, ...]]] = {}

    async def evaluate(self, ref: str, evaluate: Callable[[], Awaitable[None]]) -> bool:
        """Run ``evaluate`` unless it would repeat the last idle evaluation; whether it ran.

        The last evaluation must be the one this object ran (an email or a probe's change of
        state evaluates beside the schedule: its diagnosis is another object).
        """
        view = self._watcher.projects[ref]
        before = await self._inputs(ref)
        idle = self._idle.pop(ref, None)
        if idle is not None:
            seen, until, inputs = idle
            now = self._watcher.clock.now()
            if seen is view.diagnosis and now < until and inputs == before:
                self._idle[ref] = idle
                return False
        made = self._made()
        await evaluate()
        after = await self._inputs(ref)
        diagnosis = view.diagnosis
        if after == before and made == self._made() and diagnosis is not None:
            quiet_until = await self._quiet_until(ref)
            if quiet_until is not None:
                self._idle[ref] = (diagnosis, quiet_until, after)
        return True

    async def _quiet_until(self, ref: str) -> datetime | None:
        """Until when an evaluation with unchanged inputs decides as the one just run did (the
        first timer of an alert or of the escalation policy to run out); None when it may not
        be skipped at all (a change of size under way, a silence)."""
        watcher = self._watcher
        view = watcher.projects[ref]
        store = watcher.store
        decision = view.decision
        if decision is None or decision.action == "escalate":
            return None
        if any(i.state in UNFINISHED for i in view.journal):
            return None  # verified on every evaluation
        alerting = watcher.settings.alerting
        if alerting.silences or await store.silences():
            return None
        policy = view.policy_state
        alerts = await store.open_alerts(ref)
        opened = {a.key for a in alerts}
        due = [t + alerting.min_duration for k, t in policy.first_seen.items() if k not in opened]
        due += [t + alerting.resolve_after for t in policy.inactive_since.values()]
        for alert in alerts:
            if alert.last_sent_at is None:
                continue  # said at once, whatever the time
            due.append(alert.last_sent_at + FORECAST_QUIET)
            critical = alert.severity is Severity.CRITICAL
            every = alerting.remind_critical if critical else alerting.remind_warning
            if every is not None:
                due.append(alert.last_sent_at + every)
        due += _journal_due(view)
        due += _host_due(watcher, ref)
        due += _cause_due(view)
        # Every timer is a "long enough since" that stays true once true: one already run out
        # was read by this very evaluation, which still decided nothing.
        now = watcher.clock.now()
        return min((t for t in due if t > now), default=_NEVER)

    async def _inputs(self, ref: str) -> tuple[object, ...]:
        """Everything ``Pipeline._evaluate`` reads that can change between two of its runs."""
        watcher = self._watcher
        view = watcher.projects[ref]
        store = watcher.store
        now = watcher.clock.now()
        since = now - EMAIL_LOOKBACK
        journal = await store.intents(ref)
        try:
            pending = await correction_slot(ref).read(store) is not None
        except ValueError:  # one written wrong is pending all the same
            pending = True
        return (  # values compared with ==: equal values are the same inputs
            tuple(_status(kind, s) for kind, s in view.statuses.items()),
            _result(watcher.provider_last),
            view.budget,
            view.pressure,
            tuple(e for e in view.emails if e.received_at >= since),
            len(view.emails),
            journal == view.journal,
            len(journal),
            not pending,
            view.tier,
            view.budget_latched,
            view.data_checks,
            view.policy_state,
            tuple(await store.open_alerts(ref)),
            _disk(watcher, ref),
            _host(watcher, ref),
            watcher.auth_limits.last(ref),
        )


_NEVER = datetime.max.replace(tzinfo=UTC)


def _disk(watcher: Watcher, ref: str) -> object:
    """What the disk forecast reads: its last reading and the disk's attributes."""
    state = watcher.disk.states.get(ref)
    if state is None:
        return None
    return (state.points[-1] if state.points else None, state.config)


def _host(watcher: Watcher, ref: str) -> object:
    """What the memory and CPU assessments read: their last readings."""
    state = watcher.host.states.get(ref)
    if state is None:
        return None
    return (
        state.memory_points[-1] if state.memory_points else None,
        state.cpu_points[-1] if state.cpu_points else None,
        len(state.memory_points),
        len(state.cpu_points),
    )


def _host_due(watcher: Watcher, ref: str) -> list[datetime]:
    """When a recent OOM stops being said (policy.resources: said while less than
    ``OOM_NOTICE`` old)."""
    state = watcher.host.states.get(ref)
    oom = None if state is None or state.last_memory is None else state.last_memory.oom_at
    return [] if oom is None else [oom + OOM_NOTICE]


def _cause_due(view: ProjectView) -> list[datetime]:
    """When diagnosis stops waiting for a failure's cause (``CAUSE_WAIT`` after it began)."""
    return [
        began + CAUSE_WAIT
        for s in view.statuses.values()
        if s.state is ProbeState.DOWN and (began := s.failing_since or s.changed_at) is not None
    ]


def _journal_due(view: ProjectView) -> list[datetime]:
    """When the cooldown after the last change, or the wait after a refused one, ends."""
    cooldown = view.settings.escalation.cooldown
    changed = [i.updated_at for i in view.journal if i.state in CHANGED]
    failed = [i.updated_at for i in view.journal if i.state is IntentState.FAILED]
    due = [max(changed) + cooldown] if changed else []
    if failed:
        due.append(max(failed) + min(cooldown, FAILED_RETRY))
    return due


def _status(kind: ProbeKind, status: ProbeStatus) -> object:
    """What diagnosis reads of one probe's status (never its time or its counters)."""
    return (kind, status.state, status.failing_since, status.changed_at, _result(status.last))


def _result(result: ProbeResult | None) -> object:
    """What diagnosis reads of one probe result."""
    if result is None:
        return None
    slow = result.duration_s >= QUEUE_SIGN_S  # the disks' queue (policy.diagnosis)
    return (result.outcome, result.status_code, result.retry_after_s, result.data, slow)


class UnreadMetrics(Metrics):
    """sbwatch's metrics for a replay, where nothing reads them: every series is a no-op.

    The same names exist (the watcher sets them as it would), but no value is kept.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, value in list(vars(self).items()):
            if isinstance(value, MetricWrapperBase):
                setattr(self, name, _UNREAD)


class _Unread:
    """A series that keeps nothing: any labels give it back, any update does nothing."""

    def labels(self, *values: object, **named: object) -> _Unread:
        return self

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _ignore


def _ignore(*args: object, **kwargs: object) -> None:
    return None


_UNREAD: Any = _Unread()
