"""What the daemon logs at info: probe transitions and one line per cycle; runs at debug."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock, VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Diagnosis, DiagnosisKind, ProbeKind
from sbwatch.daemon.app import _evaluate_job
from sbwatch.daemon.scheduler import JobName, Scheduler
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 5, 20, 20, 0, tzinfo=UTC)
DEADLINE_S = 5.0


class Records(logging.Handler):
    """Every stdlib log record that reaches it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def apscheduler_records() -> Any:
    """What APScheduler's own loggers emit during the test."""
    handler = Records()
    library = logging.getLogger("apscheduler")
    library.addHandler(handler)
    yield handler.records
    library.removeHandler(handler)


async def _until(what: str, check: Any) -> None:
    async with asyncio.timeout(DEADLINE_S):
        while not check():  # noqa: ASYNC110 - captured logs offer no event to wait on
            await asyncio.sleep(0.02)
    assert check(), what


async def test_a_run_due_while_the_last_one_runs_is_skipped_in_sbwatch_words(
    apscheduler_records: list[logging.LogRecord], capsys: pytest.CaptureFixture[str]
) -> None:
    """An overrun job is skipped with sbwatch's warning; APScheduler's own line never comes."""
    release = asyncio.Event()
    runs = []

    async def slow() -> None:
        runs.append(1)
        await release.wait()

    scheduler = Scheduler(SystemClock())
    with capture_logs() as logs:
        scheduler.every(JobName("probe", ("slow",)), 0.1, slow)
        scheduler.start()
        try:
            skipped = [{"event": "job still running, run skipped", "job": "probe:slow"}]

            def seen() -> bool:
                return any({k: e.get(k) for k in ("event", "job")} == skipped[0] for e in logs)

            await _until("a skipped run", seen)
        finally:
            release.set()
            await scheduler.stop()
    warning = next(e for e in logs if e["event"] == "job still running, run skipped")
    limit = [r for r in apscheduler_records if "maximum number of running" in r.getMessage()]
    assert ("warning", 1, []) == (warning["log_level"], len(runs), limit)
    assert "" == capsys.readouterr().err


async def test_a_job_that_keeps_overrunning_is_one_warning_a_minute() -> None:
    """A job skipped run after run is said once at warning level (the next after a minute),
    not once a run: twenty runs of its neighbour see one warning."""
    release = asyncio.Event()
    neighbour: list[int] = []

    async def slow() -> None:
        await release.wait()

    async def fast() -> None:
        neighbour.append(1)

    scheduler = Scheduler(SystemClock())
    with capture_logs() as logs:
        scheduler.every(JobName("probe", ("slow",)), 0.05, slow)
        scheduler.every(JobName("probe", ("fast",)), 0.05, fast)
        scheduler.start()
        try:
            await _until("twenty runs of the neighbour", lambda: len(neighbour) >= 20)
        finally:
            release.set()
            await scheduler.stop()
    warnings = [
        e
        for e in logs
        if e["event"] == "job still running, run skipped" and e["log_level"] == "warning"
    ]
    assert [("probe:slow", 1)] == [(e["job"], e["skipped_since"]) for e in warnings]


async def test_apscheduler_lines_become_sbwatch_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Whatever APScheduler warns about is a structlog event, not a line of its own format."""
    Scheduler(SystemClock())
    with capture_logs() as logs:
        logging.getLogger("apscheduler.executors.default").warning(
            'Run time of job "%s" was missed by %s', "probe:x", "0:00:02"
        )
    expected = {
        "event": "scheduler warning",
        "detail": 'Run time of job "probe:x" was missed by 0:00:02',
        "log_level": "warning",
        "component": "scheduler",
    }
    assert ([expected], "") == (logs, capsys.readouterr().err)


async def test_probe_runs_are_debug_and_transitions_info(store: SqliteStore) -> None:
    """Each run is one debug line; the state change it causes is one info line, once."""
    settings = Settings.model_validate(
        {
            "projects": [
                {
                    "ref": REF,
                    "tier": "micro",
                    "url": "http://sim.test",
                    "service_key": "k",
                    "probes": {"rest": {"failures_before_down": 1}},
                }
            ],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
        }
    )
    clock, metrics = VirtualClock(T0), Metrics()
    answer = httpx.Response(200, json=[])
    transport = httpx.MockTransport(lambda request: answer)
    async with httpx.AsyncClient(transport=transport) as http:
        dispatcher = Dispatcher(store, [], clock=clock, metrics=metrics)
        watcher = Watcher(
            settings, store, clock=clock, metrics=metrics, http=http, dispatcher=dispatcher
        )
        await watcher.start()
        try:
            with capture_logs() as logs:
                for status in (200, 200, 503):
                    answer = httpx.Response(status, json=[])
                    await watcher.probe(REF, ProbeKind.REST)
        finally:
            await watcher.close()
    probe_lines = [
        (e["log_level"], e["event"], e.get("outcome"), e.get("previous"), e.get("current"))
        for e in logs
        if e["event"] in ("probe finished", "probe state changed")
    ]
    assert [
        ("debug", "probe finished", "ok", None, None),
        ("info", "probe state changed", None, "unknown", "up"),
        ("debug", "probe finished", "ok", None, None),
        ("debug", "probe finished", "fail", None, None),
        ("info", "probe state changed", None, "up", "down"),
    ] == probe_lines


async def test_each_evaluation_cycle_is_one_info_line() -> None:
    """The daemon's evaluation job logs one summary per cycle: diagnosis, probe states, budget."""
    clock = VirtualClock(T0)
    diagnosis = Diagnosis(REF, T0, DiagnosisKind.HEALTHY, 1.0)
    up = SimpleNamespace(state=SimpleNamespace(value="up"))
    view = SimpleNamespace(statuses={ProbeKind.REST: up}, budget=None)

    async def evaluate(ref: str) -> Diagnosis:
        return diagnosis

    watcher = SimpleNamespace(clock=clock, evaluate=evaluate, projects={REF: view})
    with capture_logs() as logs:
        presence = SimpleNamespace(cycle_done=lambda: None)
        await _evaluate_job(watcher, REF, presence)()  # type: ignore[arg-type]  # stand-ins
    assert [
        {
            "event": "cycle finished",
            "log_level": "info",
            "component": "daemon",
            "project": REF,
            "diagnosis": "healthy",
            "probes": {"rest": "up"},
            "budget_left_pct": None,
            "duration_s": 0.0,
        }
    ] == logs
