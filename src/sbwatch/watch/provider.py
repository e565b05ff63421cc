"""What the provider tells about a project, beside the probes: its compute size, its name in
emails, and the weekly right-sizing word. The watcher writes what follows into the runtime."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from sbwatch.alerting.words import (
    changed_outside_body,
    changed_outside_title,
    plan_body,
    plan_title,
    unmatched_body,
    unmatched_title,
)
from sbwatch.config.settings import ProjectSettings
from sbwatch.core.clock import Clock
from sbwatch.core.errors import SbwatchError
from sbwatch.core.log import Logger
from sbwatch.core.results import PROVIDER, Intent, ProviderEmail, Severity
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier, tier_for_variant
from sbwatch.policy.escalation import CHANGED
from sbwatch.policy.plan import Plan, plan
from sbwatch.store.base import Store
from sbwatch.store.docs import Stamp, slot
from sbwatch.supabase.mgmt_api import ManagementApi
from sbwatch.watch.announcer import Announcer
from sbwatch.watch.runtime import ProjectRuntime
from sbwatch.watch.state import STATE_NAMESPACE

PLAN_EVERY = timedelta(days=7)
PLAN_HISTORY = timedelta(days=14)


async def discover_size(
    project: ProjectSettings, api: ManagementApi | None, log: Logger
) -> tuple[Tier, dict[Tier, float] | None]:
    """The size in effect and the listed prices: the provider's, else the configured size."""
    if api is not None:
        try:
            addons = await api.get_addons(project.ref)
        except SbwatchError as exc:
            log.warning("tier lookup failed", project=project.ref, error=str(exc))
        else:
            prices = {
                tier: usd
                for variant, usd in addons.monthly_prices.items()
                if (tier := tier_for_variant(variant)) is not None
            }
            return addons.compute_tier, prices or None
    if project.tier is not None:
        return project.tier, None
    log.warning("tier unknown, assuming micro", project=project.ref)
    return Tier.MICRO, None


async def provider_size(runtime: ProjectRuntime, log: Logger) -> Tier | None:
    """The compute size the provider reports; None without a token or when it cannot say."""
    if runtime.api is None:
        return None
    try:
        return (await runtime.api.get_addons(runtime.settings.ref)).compute_tier
    except SbwatchError as exc:
        log.warning("size check failed", project=runtime.settings.ref, error=str(exc))
        return None


async def provider_names(apis: Iterable[ManagementApi], log: Logger) -> dict[str, str]:
    """Every project's name at the provider by ref, one list per token; what fails is left out
    (each project then asks for its own)."""
    names: dict[str, str] = {}
    for api in apis:
        try:
            names.update((p.ref, p.name) for p in await api.list_projects())
        except SbwatchError as exc:
            log.warning("project list failed", error=str(exc))
    return names


async def provider_name(runtime: ProjectRuntime, log: Logger) -> str | None:
    """The project's name at the provider, for emails that name it; None if unknown."""
    if runtime.api is None:
        return None
    try:
        return (await runtime.api.get_project(runtime.settings.ref)).name
    except SbwatchError as exc:
        log.warning("project name lookup failed", project=runtime.settings.ref, error=str(exc))
        return None


def explained_by(journal: list[Intent], tier: Tier) -> Intent | None:
    """The journal's last change when it moved the project to ``tier`` (sbwatch did it)."""
    changes = [i for i in journal if i.state in CHANGED]
    return changes[-1] if changes and changes[-1].to_tier is tier else None


async def say_changed_outside(
    announcer: Announcer, runtime: ProjectRuntime, previous: Tier, tier: Tier
) -> None:
    """Once: the size changed and nobody in sbwatch asked for it."""
    await announcer.notice(
        runtime,
        Severity.INFO,
        changed_outside_title(tier),
        changed_outside_body(previous, tier),
        subject=Subject.SIZE,
    )


def email_targets(
    projects: Mapping[str, ProjectRuntime], email: ProviderEmail
) -> list[ProjectRuntime]:
    """The projects an email is about: by ref, else by name, else the only one watched."""
    names = {ref: runtime.names() for ref, runtime in projects.items()}
    return [projects[ref] for ref in matching_refs(names, email)]


def matching_refs(names: Mapping[str, set[str]], email: ProviderEmail) -> list[str]:
    """The refs an email is about, of projects known by their lowercased ``names``: by ref
    (a dashboard link), else by name, else the only project there is."""
    if email.project_ref is not None:
        return [ref for ref in names if ref == email.project_ref]
    if email.project_name is not None:
        name = email.project_name.lower()
        return [ref for ref, known in names.items() if name in known]
    return list(names) if len(names) == 1 else []


async def say_unmatched(
    announcer: Announcer, projects: Mapping[str, ProjectRuntime], email: ProviderEmail
) -> None:
    """Once: the provider wrote about a project sbwatch does not watch (or did not say which)."""
    if not email.trusted and not announcer.claims.admit(PROVIDER, email, announcer.clock.now()):
        return  # a flood of spoofed emails is one notice an hour: counted for the next
    watched = [r.settings.display_name for r in projects.values()]
    await announcer.provider_notice(
        Severity.WARNING if email.trusted else Severity.INFO,
        unmatched_title(email),
        unmatched_body(email, watched),
    )


async def plan_notice(
    store: Store, clock: Clock, announcer: Announcer, runtime: ProjectRuntime
) -> Plan | None:
    """The weekly right-sizing notice: said when the last two weeks fit another size."""
    ref = runtime.settings.ref
    now = clock.now()
    looked = slot(STATE_NAMESPACE, f"plan:{ref}", Stamp)
    last = await looked.read(store)
    if last is not None and now - last.at < PLAN_EVERY:
        return None
    samples = await store.io_samples(ref, now - PLAN_HISTORY)
    sustain = runtime.settings.memory.sustain
    made = plan(samples, runtime.tier, prices=runtime.prices, memory_sustain=sustain)
    await looked.write(store, Stamp(now))
    if made.pick is None or made.pick is runtime.tier:
        return made
    await announcer.notice(
        runtime,
        Severity.INFO,
        plan_title(made, PLAN_HISTORY.days, runtime.tier),
        plan_body(made, ref),
        subject=Subject.PLAN,
    )
    return made
