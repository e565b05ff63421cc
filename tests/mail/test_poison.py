"""Hostile emails from a real Dovecot into both stores: none stops the mail watcher."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.dkimtest import DnsStub
from tests.ingest.test_fuzz import RAW
from tests.servers import fresh_database_sync, pg_url

from sbwatch.core.results import ProviderEmail
from sbwatch.ingest.imap import NAMESPACE
from sbwatch.ingest.parse import TrustRule, parse_email
from sbwatch.store import Store
from sbwatch.store.postgres import PostgresStore
from sbwatch.store.sqlite import SqliteStore

pytestmark = pytest.mark.integration

POISON = (
    b"From: <\xff@example.com>\r\nTo: ops@example.net\r\n"
    b"Subject: Your project is depleting its Disk IO Budget\r\n"
    b"Message-ID: <poison-1@example.com>\r\n\r\n"
    b"https://supabase.com/dashboard/project/kqwmzrtplvbnhxcydsfa\r\n"
)
HEADER_JUNK = (
    b"\xff", b"\x00", b"\xc3(", b"\xed\xa0\x80", b"=?utf-8?b?/w==?=", b"\x1b[31m", b"\x07",
    b"=?x-bad?q?=FF=00?=", b"<\xfe\x00@\xff>", b"\"\xff\" <a@b>", b"(((", b"@", b"",
)  # fmt: skip
NAMES = (b"From", b"Subject", b"Message-ID", b"Date", b"Received", b"Authentication-Results")


def hostile(rng: random.Random, index: int) -> bytes:
    """A message whose headers and body carry raw 8-bit bytes, NULs and broken encodings."""
    lines = [
        name + b": " + b"".join(rng.choice(HEADER_JUNK) for _ in range(rng.randint(1, 4)))
        for name in rng.sample(NAMES, rng.randint(1, len(NAMES)))
    ]
    if rng.random() < 0.5:  # a Message-ID of its own half the time, raw bytes in it
        lines.append(b"Message-ID: <h" + str(index).encode() + rng.choice(HEADER_JUNK) + b"@x>")
    body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body + b"\r\nhas depleted its Disk IO Budget\r\n"


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, dropped at the end."""
    with fresh_database_sync("sbwatch_mail") as name:
        yield pg_url(name)


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, pg_dsn: str
) -> AsyncIterator[Store]:
    """Each store backend in turn, opened."""
    store: Store
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "state.db")
    else:
        store = PostgresStore(pg_dsn, schema=f"t_{secrets.token_hex(6)}")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _watch(harness: Any, store: Store, dovecot: Any, user: str) -> Any:
    """A backfilling watcher on ``store`` (not the harness's own), started."""
    harness.store = store
    watcher = harness.watcher(dovecot.settings(user, backfill=True))
    harness.start(watcher)
    return watcher


async def _cursor_reaches(
    store: Store, watcher: Any, uid: int, handed_on: Callable[[], bool] = lambda: True
) -> None:
    """Until the cursor passes ``uid`` and ``handed_on`` holds (an email is handed on just
    after its cursor moves)."""
    async with asyncio.timeout(30):
        while True:
            state = await store.get_state(NAMESPACE, watcher.key)
            if state is not None and state["last_uid"] >= uid and handed_on():
                return
            await asyncio.sleep(0.02)


def _genuine(harness: Any) -> list[Any]:
    return [e for e in harness.received if e.sender == "noreply@supabase.com"]


async def test_raw_byte_sender_is_stored_and_the_next_email_read(
    dovecot: Any, harness: Any, any_store: Store, make_email: Any
) -> None:
    """``From: <\\xff@example.com>`` is stored (the byte replaced) and the genuine Disk IO
    warning after it arrives: the watcher goes on and its cursor passes both."""
    user = dovecot.add_user()
    await dovecot.aappend(user, [POISON, make_email(1)])
    watcher = await _watch(harness, any_store, dovecot, user)
    await _cursor_reaches(any_store, watcher, 2, lambda: bool(_genuine(harness)))
    senders = sorted(e.sender for e in harness.received)
    trusted = [e.trusted for e in harness.received]
    alive = not harness.tasks[0].done()
    assert (["noreply@supabase.com", "\ufffd@example.com"], [True, False], True) == (
        senders,
        sorted(trusted, reverse=True),
        alive,
    )


async def test_hostile_mailbox_never_stops_ingestion(
    dovecot: Any, harness: Any, any_store: Store, make_email: Any
) -> None:
    """200 messages of raw bytes, NULs and broken encodings, then a genuine warning: the
    warning arrives, the cursor passes every message and the watcher is still running."""
    rng = random.Random(29)
    user = dovecot.add_user()
    dovecot.write_maildir(user, [hostile(rng, i) for i in range(200)])
    await dovecot.aappend(user, [make_email(1)])
    watcher = await _watch(harness, any_store, dovecot, user)
    await _cursor_reaches(any_store, watcher, 201, lambda: bool(_genuine(harness)))
    genuine = _genuine(harness)
    assert (1, True, False) == (len(genuine), genuine[0].trusted, harness.tasks[0].done())


class _Refusing(SqliteStore):
    """An SQLite store that cannot take one message (as any store might refuse one)."""

    async def record_email(self, email: ProviderEmail) -> bool:
        if "refused" in email.subject:
            raise ValueError("this one cannot be stored")
        return await super().record_email(email)


async def test_an_email_the_store_refuses_is_counted_and_passed(
    dovecot: Any, harness: Any, tmp_path: Path, make_email: Any
) -> None:
    """An email the store raises on is counted as unparseable and skipped; the next one is
    read, and a restarted watcher does not stop on it again."""
    store = _Refusing(tmp_path / "refusing.db")
    await store.open()
    try:
        user = dovecot.add_user()
        await dovecot.aappend(user, [make_email(0, kind_subject="refused"), make_email(1)])
        watcher = await _watch(harness, store, dovecot, user)
        await _cursor_reaches(store, watcher, 2, lambda: bool(_genuine(harness)))
        counted = harness.count("unparseable", kind="other")
        assert (1, 1.0, False) == (len(harness.received), counted, harness.tasks[0].done())
    finally:
        for task in harness.tasks:
            task.cancel()
        await asyncio.gather(*harness.tasks, return_exceptions=True)
        await store.close()


RAW_HEADERS = st.lists(
    st.tuples(st.sampled_from(NAMES), st.binary(max_size=60)), min_size=1, max_size=6
).map(lambda pairs: b"\r\n".join(n + b": " + v.replace(b"\n", b" ") for n, v in pairs))
FUZZED = st.one_of(RAW, st.tuples(RAW_HEADERS, st.binary(max_size=200)).map(b"\r\n\r\n".join))


def test_fuzzed_bytes_are_stored_by_both_backends(tmp_path: Path, pg_dsn: str) -> None:
    """Whatever bytes the parser turns into an email, SQLite and PostgreSQL both store it and
    give it back under its Message-ID."""
    rule = TrustRule(("supabase.com",), None, DnsStub())
    fallback = datetime(2026, 5, 20, tzinfo=UTC)
    with asyncio.Runner() as runner:
        stores: list[Store] = [
            SqliteStore(tmp_path / "fuzz.db"),
            PostgresStore(pg_dsn, schema=f"t_{secrets.token_hex(6)}"),
        ]
        for store in stores:
            runner.run(store.open())
        seen: set[str] = set()

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(FUZZED)
        def store_each(raw: bytes) -> None:
            email = parse_email(raw, rule, fallback_time=fallback)
            if email is None:
                return
            fresh = email.message_id not in seen
            seen.add(email.message_id)
            assert [fresh, fresh] == [runner.run(s.record_email(email)) for s in stores]

        try:
            store_each()
        finally:
            for store in stores:
                runner.run(store.close())
