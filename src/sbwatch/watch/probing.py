"""The probe step of a project's pipeline: run a probe, keep its result and state, fold a
metrics reading into the estimate; and the provider-wide status page probe."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock
from sbwatch.core.log import Logger
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    PROVIDER,
    IoSample,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
)
from sbwatch.policy.budget import pressure
from sbwatch.policy.disk import point_of
from sbwatch.policy.thresholds import next_status
from sbwatch.probes.base import Probe
from sbwatch.probes.runner import run_probe  # where a probe's bug becomes outcome=error
from sbwatch.store.base import Store
from sbwatch.watch.auth_limits import AuthFlow
from sbwatch.watch.builder import RuntimeBuilder
from sbwatch.watch.connections import ConnFlow
from sbwatch.watch.disk import DiskFlow
from sbwatch.watch.host import HostFlow
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.state import estimator_slot

if TYPE_CHECKING:  # the pipeline builds this step: a type only
    from sbwatch.watch.pipeline import Mandate

_STATE_VALUE = {ProbeState.UP: 1.0, ProbeState.DOWN: 0.0, ProbeState.UNKNOWN: -1.0}


class Probing:
    """Runs a project's probes and keeps what they find in its runtime and the store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        metrics: Metrics,
        build: RuntimeBuilder,
        flows: tuple[DiskFlow, ConnFlow, AuthFlow, HostFlow],
        log: Logger,
    ) -> None:
        """``flows``: the parts of the pipeline a metrics reading is folded into."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self._build = build
        self.disk, self.connections, self.auth_limits, self.host = flows
        self._log = log
        self.provider_probe: Probe | None = None
        self.provider_last: ProbeResult | None = None

    def start_provider(self) -> None:
        """Build the provider-wide status page probe, when enabled."""
        self.provider_probe = self._build.provider_probe()

    async def close_provider(self) -> None:
        """Release the status page probe's connections."""
        if self.provider_probe is not None:
            await self.provider_probe.aclose()

    async def probe(
        self, runtime: ProjectRuntime, kind: ProbeKind, may: Mandate
    ) -> tuple[ProbeResult, bool]:
        """Run one probe and keep its result, state and consequences; whether its state
        changed.

        A failure is confirmed at once: the probe runs again after ``confirm_after`` until the
        thresholds say down (or it passes).
        """
        confirm = runtime.settings.probes[kind].confirm_after
        result, changed = await self.probe_once(runtime, kind, may)
        while confirm is not None and not result.ok:
            if runtime.statuses[kind].state is ProbeState.DOWN:
                break
            await self.clock.sleep(confirm.total_seconds())
            result, again = await self.probe_once(runtime, kind, may)
            changed = changed or again
        return result, changed

    async def probe_once(
        self, runtime: ProjectRuntime, kind: ProbeKind, may: Mandate
    ) -> tuple[ProbeResult, bool]:
        """One run: keep the result and the state; whether the state changed."""
        ref = runtime.settings.ref
        result = await run_probe(
            runtime.probes[kind],
            project=ref,
            timeout_s=self._build.timeout(runtime.settings, kind),
            clock=self.clock,
            metrics=self.metrics,
            log=self._log,
        )
        if runtime.replaced or not may.runs():
            if not may.runs():  # moved to another instance meanwhile: its to keep and say
                self.metrics.forget_project(ref)
            return result, False
        await self.store.record_probe(result)
        status, transition = next_status(
            runtime.statuses.get(kind), result, runtime.settings.probes[kind]
        )
        runtime.statuses[kind] = status
        await self.store.save_probe_status(status)
        if may.runs():  # asked again after every wait: gauges are the holder's alone
            self.metrics.probe_series(ref, kind.value).up.set(_STATE_VALUE[status.state])
        if transition is not None:
            await self.store.record_transition(transition)
            self._log.info(
                "probe state changed",
                project=ref,
                probe=kind.value,
                previous=transition.previous.value,
                current=transition.current.value,
            )
        if result.skipped_lines:
            self.metrics.metrics_lines_skipped.labels(ref).inc(result.skipped_lines)
        if result.sample is not None:
            await self._fold_sample(runtime, result.sample, may)
        if result.host is not None:
            self.host.fold(ref, result.host)
        if result.checks:
            runtime.data_checks = result.checks
            self.metrics.record_data_checks(ref, result.checks)
        return result, transition is not None

    async def probe_provider(self) -> ProbeResult | None:
        """Run the provider-wide status page probe."""
        if self.provider_probe is None:
            return None
        result = await run_probe(
            self.provider_probe,
            project=PROVIDER,
            timeout_s=self.settings.status_page.timeout.total_seconds(),
            clock=self.clock,
            metrics=self.metrics,
            log=self._log,
        )
        await self.store.record_probe(result)
        self.provider_last = result
        # No threshold here: up while the page is read (whatever it reports), down when not.
        up = 1.0 if result.outcome is Outcome.OK else 0.0
        self.metrics.probe_series(PROVIDER, result.probe.value).up.set(up)
        return result

    async def _fold_sample(self, runtime: ProjectRuntime, sample: IoSample, may: Mandate) -> None:
        ref = runtime.settings.ref
        await self.store.record_io_sample(ref, sample)
        runtime.pressure = pressure(runtime.last_sample, sample)
        runtime.last_sample = sample
        self.disk.fold(ref, point_of(sample))
        self.connections.fold(ref, sample)
        self.auth_limits.fold(ref, sample)
        estimate = runtime.estimator.update(sample)
        await self.store.record_budget(estimate)
        await estimator_slot(ref).write(self.store, runtime.estimator)
        if not may.runs():
            return
        self.metrics.io_budget_ratio.labels(ref).set(estimate.ratio)
        eta = estimate.eta_s if estimate.eta_s is not None else math.inf
        self.metrics.io_budget_eta.labels(ref).set(eta)
        self.metrics.io_throughput.labels(ref).set(estimate.throughput_mbps * 1_000_000)
