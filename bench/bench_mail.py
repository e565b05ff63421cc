"""APPEND to a private Dovecot -> classified email event: latency over 100 messages.

Prints p50/p99 of the end-to-end latency beside the raw APPEND round trip measured in the
same run (the baseline). Run: ``.venv/bin/python bench/bench_mail.py [--count 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from sbwatch.config.settings import MailSettings
from sbwatch.core.clock import SystemClock
from sbwatch.core.log import configure as configure_logging
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import ProviderEmail
from sbwatch.ingest.imap import NAMESPACE, MailWatcher
from sbwatch.ingest.parse import TrustRule
from sbwatch.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]


def _helpers() -> ModuleType:
    """The Dovecot runner shared with the tests (tests/mail/conftest.py)."""
    spec = importlib.util.spec_from_file_location(
        "mail_helpers", ROOT / "tests" / "mail" / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mail_helpers"] = module
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bench(count: int) -> None:
    helpers = _helpers()
    with tempfile.TemporaryDirectory(prefix="sbw-bench-mail-") as tmp:
        server = helpers.Dovecot(Path(tmp))
        server.start()
        store = SqliteStore(Path(tmp) / "bench-state" / "state.db")
        await store.open()
        arrived: dict[str, float] = {}
        event = asyncio.Event()

        async def on_email(email: ProviderEmail) -> None:
            arrived[email.message_id] = time.perf_counter()
            event.set()

        try:
            user = server.add_user()
            settings = MailSettings(**server.settings(user))
            watcher = MailWatcher(
                settings, store, clock=SystemClock(), metrics=Metrics(), on_email=on_email,
                rule=TrustRule(("supabase.com",), None),
            )  # fmt: skip
            task = asyncio.create_task(watcher.run())
            while await store.get_state(NAMESPACE, watcher.key) is None:  # noqa: ASYNC110 -- state in SQLite
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            client = imaplib.IMAP4("127.0.0.1", server.port)
            client.login(user, helpers.PASSWORD)
            appends: list[float] = []
            latencies: list[float] = []
            for index in range(count):
                raw = helpers.make_email(index)
                message_id = raw.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode()
                event.clear()
                start = time.perf_counter()
                await asyncio.to_thread(client.append, "INBOX", None, None, raw)
                appends.append(time.perf_counter() - start)
                async with asyncio.timeout(30):
                    while message_id not in arrived:
                        await event.wait()
                        event.clear()
                latencies.append(arrived[message_id] - start)
            client.logout()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        finally:
            await store.close()
            server.stop()
    _report(count, appends, latencies)


def _report(count: int, appends: list[float], latencies: list[float]) -> None:
    print(f"bench_mail: {count} messages, APPEND -> classified event (IDLE push)")
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, values in (("baseline: APPEND round trip", appends), ("APPEND -> event", latencies)):
        p50, p99 = _pct(values, 0.5) * 1000, _pct(values, 0.99) * 1000
        print(f"{name:28}{p50:>10.1f}{p99:>10.1f}{statistics.mean(values) * 1000:>10.1f}")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    configure_logging("warning")
    asyncio.run(_bench(parser.parse_args().count))


if __name__ == "__main__":
    main()
