"""Provider emails reach the project they name, by ref or by name; others are said as such."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import PROVIDER, EmailKind, ProviderEmail
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher

A, B = "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"
T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)


def settings(*refs: str) -> Settings:
    """Projects that probe nothing, the second one named like the seed's project."""
    projects = [{"ref": ref, "tier": "micro", "probes": {}} for ref in refs]
    if len(projects) > 1:
        projects[1]["name"] = "job-hunter-team"
    return Settings.model_validate(
        {
            "projects": projects,
            "alerting": {"routes": [{"name": "phone", "url": "json://127.0.0.1:9/"}]},
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )


def email(ref: str | None = None, name: str | None = None) -> ProviderEmail:
    """A trusted disk IO warning naming a ref, a name, or neither."""
    subject = "Your project is depleting its Disk IO Budget"
    return ProviderEmail(
        "<m@supabase.com>",
        EmailKind.IO_BUDGET_WARNING,
        ref,
        T0,
        subject,
        "noreply@supabase.com",
        True,
        "dkim=pass",
        project_name=name,
    )


async def received(store: SqliteStore, config: Settings, mail: ProviderEmail) -> list[str]:
    """The keys of the notifications one email queues."""
    clock = VirtualClock(T0)
    async with httpx.AsyncClient() as http:
        metrics = Metrics()
        dispatcher = Dispatcher(store, config.alerting.routes, clock=clock, metrics=metrics)
        watcher = Watcher(
            config, store, clock=clock, metrics=metrics, http=http, dispatcher=dispatcher
        )
        await watcher.start()
        try:
            await watcher.on_email(mail)
        finally:
            await watcher.close()
    return [n.alert_key for n in await store.due_notifications(T0)]


@pytest.mark.parametrize(
    ("mail", "expected"),
    [
        (email(ref=A), [f"{A}:mail"]),
        (email(name="job-hunter-team"), [f"{B}:mail"]),
        (email(name="JOB-HUNTER-TEAM"), [f"{B}:mail"]),
        (email(), [f"{PROVIDER}:mail"]),
        (email(name="someone-else"), [f"{PROVIDER}:mail"]),
        (email(ref="cccccccccccccccccccc"), [f"{PROVIDER}:mail"]),
    ],
)
async def test_an_email_reaches_the_project_it_names(
    store: SqliteStore, mail: ProviderEmail, expected: list[str]
) -> None:
    """By ref, by name (any case); naming no watched project it is said once, for nobody."""
    assert expected == await received(store, settings(A, B), mail)


async def test_with_one_project_an_unnamed_email_is_its(store: SqliteStore) -> None:
    """The provider's email often names no project: with one watched, it is that one."""
    assert [f"{A}:mail"] == await received(store, settings(A), email())


class OneHolder:
    """Fences of an instance that holds project ``mine`` only (projects shared out)."""

    def __init__(self, mine: str) -> None:
        self.mine = mine

    def lease_for(self, project: str | None) -> str:
        return f"project:{project}" if project in (A, B) else "leader"

    def fence(self, lease: str) -> Held:
        return Held(lease, lease == f"project:{self.mine}")

    def runs(self, project: str) -> bool:
        return project == self.mine


class Held:
    """One lease's fence: epoch 1 while held."""

    def __init__(self, lease: str, held: bool) -> None:
        self.lease = lease
        self.held = held

    @property
    def epoch(self) -> int | None:
        return 1 if self.held else None

    def acting(self) -> bool:
        return self.held


async def test_the_holder_learns_an_email_another_instance_read_first(
    store: SqliteStore,
) -> None:
    """Two instances read the mailbox; the one that does not run A stores A's email first and
    says nothing; A's holder finds it at its next evaluation and says it once."""
    config = settings(A, B)
    clock = VirtualClock(T0)
    async with httpx.AsyncClient() as http:
        watchers = []
        for mine in (B, A):
            metrics = Metrics()
            fences = OneHolder(mine)
            dispatcher = Dispatcher(
                store, config.alerting.routes, clock=clock, metrics=metrics, fences=fences
            )
            watcher = Watcher(
                config,
                store,
                clock=clock,
                metrics=metrics,
                http=http,
                dispatcher=dispatcher,
                fences=fences,
            )
            await watcher.start()
            watchers.append(watcher)
        reader, holder = watchers
        try:
            mail = email(ref=A)
            assert await store.record_email(mail)
            await reader.on_email(mail)
            assert [] == await store.due_notifications(T0)
            assert None is await reader.evaluate(A)
            await holder.evaluate(A)
            await holder.evaluate(A)
        finally:
            for watcher in watchers:
                await watcher.close()
    queued = await store.due_notifications(T0)
    assert [(f"{A}:mail", f"project:{A}")] == [(n.alert_key, n.lease) for n in queued]
