"""A project's runtime as it is built: its probes, its Management API client, its estimate and
its escalator, on the size the provider reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr

from sbwatch.config.settings import ProjectSettings, Settings
from sbwatch.core.clock import Clock
from sbwatch.core.lease import Fence
from sbwatch.core.log import Logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Intent, ProbeKind
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.probes import ProbeContext, build_probe, timeout_for
from sbwatch.probes.base import Probe
from sbwatch.remediation.executor import Escalator
from sbwatch.store.base import Store
from sbwatch.supabase.mgmt_api import ManagementApi
from sbwatch.watch.provider import discover_size, provider_names
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.state import estimator_slot


class RuntimeBuilder:
    """Builds project runtimes and their probes on the shared HTTP client."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        http: httpx.AsyncClient,
        owner: str,
        on_intent: Callable[[Intent], Awaitable[None]],
        log: Logger,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.http = http
        self.owner = owner
        self.on_intent = on_intent
        self._log = log
        self._timeouts: dict[tuple[str, ProbeKind], float] = {}

    async def names(self) -> dict[str, str]:
        """Every project's name at the provider by ref, one list per token in use."""
        tokens = {token for p in self.settings.projects if (token := self.settings.token_for(p))}
        return await provider_names([self._api(token) for token in tokens], self._log)

    def _api(self, token: SecretStr) -> ManagementApi:
        """A Management API client on the shared HTTP client, for one token."""
        return ManagementApi(self.http, self.settings.mgmt_api_url, token, clock=self.clock)

    def context(self, project: ProjectSettings) -> ProbeContext:
        """What a probe of ``project`` is built with."""
        return ProbeContext(self.settings, project, self.http, self.clock)

    def timeout(self, project: ProjectSettings, kind: ProbeKind) -> float:
        """Seconds one run of a probe may take (the settings are this watcher's for good:
        worked out once)."""
        timeout = self._timeouts.get((project.ref, kind))
        if timeout is None:
            timeout = timeout_for(self.context(project), kind)
            self._timeouts[(project.ref, kind)] = timeout
        return timeout

    def build_probes(self, runtime: ProjectRuntime) -> None:
        """Every enabled probe of the project, the provider-wide status page left out."""
        project = runtime.settings
        for kind in project.enabled_probes():
            if kind is not ProbeKind.STATUS_PAGE:
                runtime.probes[kind] = build_probe(kind, self.context(project))

    def provider_probe(self) -> Probe | None:
        """The provider-wide status page probe, when enabled."""
        if self.settings.status_page.enabled and self.settings.projects:
            first = self.settings.projects[0]
            return build_probe(ProbeKind.STATUS_PAGE, self.context(first))
        return None

    def dormant(self, project: ProjectSettings, names: dict[str, str]) -> ProjectRuntime:
        """The runtime of a project another instance runs (projects shared out): its probes
        and configured size, nothing read nor asked; started for real if it moves here."""
        token = self.settings.token_for(project)
        tier = project.tier or Tier.MICRO
        smoothing_s = project.budget.smoothing.total_seconds()
        runtime = ProjectRuntime(
            project,
            BudgetEstimator(project.ref, tier, smoothing_s=smoothing_s),
            tier,
            api=self._api(token) if token is not None else None,
        )
        runtime.provider_name = names.get(project.ref)
        self.build_probes(runtime)
        return runtime

    async def runtime(
        self, project: ProjectSettings, fence: Fence | None
    ) -> tuple[ProjectRuntime, Tier]:
        """A project's runtime on the size its saved estimate knows, and the size in effect."""
        token = self.settings.token_for(project)
        api = self._api(token) if token is not None else None
        tier, prices = await discover_size(project, api, self._log)
        saved = await estimator_slot(project.ref).read(self.store)
        if saved is not None:
            estimator = saved
        else:
            estimator = BudgetEstimator(
                project.ref, tier, smoothing_s=project.budget.smoothing.total_seconds()
            )
            if project.budget.consumed_pct is not None:
                estimator.correct(project.budget.consumed_pct, self.clock.now())
        estimator.configure(project.budget.limits)
        escalator = (
            Escalator(
                self.store,
                api,
                clock=self.clock,
                metrics=self.metrics,
                owner=self.owner,
                fence=fence,
                on_intent=self.on_intent,
            )
            if api is not None
            else None
        )
        runtime = ProjectRuntime(
            project, estimator, estimator.tier, api=api, escalator=escalator, prices=prices
        )
        return runtime, tier
