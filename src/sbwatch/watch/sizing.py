"""A project's compute size in the pipeline: read it from the provider, follow it, move the
estimate to it."""

from __future__ import annotations

from sbwatch.core.clock import Clock
from sbwatch.core.log import get_logger
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import PolicyState
from sbwatch.policy.escalation import UNFINISHED
from sbwatch.store.base import Store
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.host import HostFlow
from sbwatch.watch.provider import explained_by, provider_size, say_changed_outside
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.state import estimator_slot


class Sizing:
    """Follows the compute size of a project's runtime."""

    def __init__(self, store: Store, *, clock: Clock, announcer: Announcer, host: HostFlow) -> None:
        self.store = store
        self.clock = clock
        self.announcer = announcer
        self.host = host
        self._log = get_logger("watcher")

    async def check(self, runtime: ProjectRuntime) -> Tier | None:
        """Read the compute size from the provider and follow it; None when it cannot be read.

        A change under way is left to its own verification. A size nobody in sbwatch asked for
        (the dashboard, a colleague) is announced once; the estimate moves to it either way.
        """
        if runtime.api is None:
            return None
        journal = await self.store.intents(runtime.settings.ref)
        if runtime.escalator is not None:  # a person's sbwatch escalate counts in the metrics
            runtime.escalator.observe(journal)
        if any(intent.state in UNFINISHED for intent in journal):
            return None
        tier = await provider_size(runtime, self._log)
        if tier is not None and tier is not runtime.tier:
            await self.adopt(runtime, tier)
        return tier

    async def adopt(self, runtime: ProjectRuntime, tier: Tier) -> None:
        """The provider reports ``tier``: move to it, and say so when sbwatch did not ask."""
        previous = runtime.tier
        await self.switch(runtime, tier)
        ref = runtime.settings.ref
        made = explained_by(runtime.journal, tier)
        if made is not None:
            self._log.info("compute size followed", project=ref, tier=tier.value, by=made.actor)
        elif runtime.api is not None:  # a configured size that changed: the person knows
            self._log.warning("compute changed outside sbwatch", project=ref, tier=tier.value)
            await say_changed_outside(self.announcer, runtime, previous, tier)

    async def switch(self, runtime: ProjectRuntime, tier: Tier) -> None:
        """The project runs on ``tier`` now: a full budget there, alerts start afresh (the IO
        budget's too: a new size that will run out is warned of like any other)."""
        now = self.clock.now()
        ref = runtime.settings.ref
        runtime.tier = tier
        runtime.estimator.set_tier(tier, now)
        self.host.forget(ref)
        runtime.budget_latched = False
        # the timers start afresh; who was paged stays paged (a failure going on through
        # the resize turns critical again as a note, not a second page)
        runtime.policy_state = PolicyState(paged=runtime.policy_state.paged)
        await estimator_slot(ref).write(self.store, runtime.estimator)
        if runtime.estimator.estimate is not None:  # status shows the new size at once
            await self.store.record_budget(runtime.estimator.estimate)
