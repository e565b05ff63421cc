"""Typed state documents: each is read and written through its slot as a value, and its JSON
is the one written before the slots (a store from an older sbwatch reads the same)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from sbwatch.backup.job import health_slot
from sbwatch.core.tiers import Tier
from sbwatch.daemon.presence import HEARTBEAT, Heartbeat
from sbwatch.daemon.uptime import cache_slot
from sbwatch.data.activity import Samples, samples_slot
from sbwatch.ingest.imap import cursor_slot
from sbwatch.ingest.watcher_state import MAIL_WATCHER
from sbwatch.policy.backup import BackupHealth
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.remediation.disk_journal import changes_slot
from sbwatch.store.docs import Slot, Stamp, slot
from sbwatch.watch.auth_limits import auth_limits_slot
from sbwatch.watch.connections import connections_slot
from sbwatch.watch.host_state import host_slot
from sbwatch.watch.state import Correction, correction_slot, estimator_slot

T0 = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)


class DictState:
    """The state role of a store, in a dict (what a slot writes is what is kept)."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}

    async def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        return self.docs.get((namespace, key))

    async def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self.docs[(namespace, key)] = value

    async def delete_state(self, namespace: str, key: str) -> None:
        self.docs.pop((namespace, key), None)


async def test_a_slot_writes_reads_and_deletes_its_value() -> None:
    """None before the first write, the value after it, None again once deleted."""
    store = DictState()
    looked = slot("budget", "plan:r", Stamp)
    assert await looked.read(store) is None
    await looked.write(store, Stamp(T0))
    assert {("budget", "plan:r"): {"at": "2026-05-26T12:00:00+00:00"}} == store.docs
    assert Stamp(T0) == await looked.read(store)
    await looked.delete(store)
    assert await looked.read(store) is None


@pytest.mark.parametrize(
    ("value", "put", "stored"),
    [
        (Correction(35.5, T0), correction_slot("r").write, {"consumed_pct": 35.5, "at": T0}),
        (BackupHealth.VERIFY_FAILED, health_slot("r").write, {"health": "verify_failed"}),
        ([T0], changes_slot("r").write, {"seen": [T0]}),
    ],
)
async def test_each_document_keeps_its_former_json(value: Any, put: Any, stored: Any) -> None:
    """The JSON of a correction, a backup health and the disk changes seen is as before."""
    store = DictState()
    await put(store, value)
    (doc,) = store.docs.values()
    assert _iso(stored) == doc


async def test_a_malformed_document_raises_on_reading() -> None:
    """A correction written by hand and wrong is a ValueError, as parse_correction said."""
    store = DictState()
    store.docs[("budget", "correction:r")] = {"consumed_pct": 120.0, "at": T0.isoformat()}
    with pytest.raises(ValueError, match="out of range"):
        await correction_slot("r").read(store)


async def test_db_samples_without_their_list_are_none_kept() -> None:
    """A samples document without ``samples`` reads as no sample, as ``db report`` read it."""
    store = DictState()
    store.docs[("data", "activity:r")] = {}
    assert Samples(()) == await samples_slot("r").read(store)


async def test_the_estimator_snapshot_round_trips_through_its_slot() -> None:
    """An estimator written through its slot is its ``to_state``, and reads back the same."""
    store = DictState()
    kept = BudgetEstimator("r", Tier.MICRO)
    kept.learned = {"micro": 13.8}
    await estimator_slot("r").write(store, kept)
    assert kept.to_state() == store.docs[("budget", "estimator:r")]
    again = await estimator_slot("r").read(store)
    assert again is not None
    assert kept.to_state() == again.to_state()


async def test_the_heartbeat_round_trips_through_its_slot() -> None:
    """The daemon's heartbeat comes back equal."""
    store = DictState()
    beat = Heartbeat("host:1", T0, None, 30.0, stopped_at=T0)
    await HEARTBEAT.write(store, beat)
    assert beat == await HEARTBEAT.read(store)


def _iso(value: Any) -> Any:
    """``value`` with every datetime as its ISO text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


HOST_DOC: dict[str, Any] = {
    "tier": "micro",
    "memory": {
        "used_ratio": 0.88,
        "swap_ratio": 0.1,
        "high_for_s": 2700.0,
        "held": True,
        "oom_eta_s": 20820.0,
        "oom_at": None,
        "need_gb": 1.0,
        "holds": "small",
        "holds_gb": 2,
    },
    "cpu": {
        "busy_ratio": 0.95,
        "busy_for_s": 1200.0,
        "held": True,
        "cpus": 2,
        "more": "xl",
        "more_cpus": 4,
    },
}
"""A memory and CPU summary as the daemon has written it."""

CONNECTIONS_DOC: dict[str, Any] = {
    "at": "2026-05-26T12:00:00+00:00",
    "tier": "micro",
    "level": "warning",
    "worst": "direct",
    "top_user": ["authenticator", 41.0],
    "pools": [
        {"pool": "direct", "used": 52.0, "limit": 60, "full": False, "full_eta_s": 5400},
        {"pool": "pooler", "used": 3, "limit": 200.0, "full": False, "full_eta_s": None},
    ],
}
"""A connections assessment as the daemon has written it."""

AUTH_DOC: dict[str, Any] = {
    "at": "2026-05-26T12:00:00+00:00",
    "routes": [{"route": "token", "per_minute": 12.5}, {"route": "otp", "per_minute": 0.5}],
    "limited": ["token"],
}
"""An auth rate limits assessment as the daemon has written it."""

UPTIME_DOC: dict[str, Any] = {
    "through": "2026-05-26T12:00:00+00:00",
    "runs": {
        "rest": [
            ["2026-05-25T00:00:00+00:00", "2026-05-25T06:10:00+00:00"],
            ["2026-05-25T07:00:00+00:00", "2026-05-26T12:00:00+00:00"],
        ],
        "db": [["2026-05-25T00:00:00+00:00", "2026-05-26T12:00:00+00:00"]],
    },
}
"""The uptime job's slot runs as the daemon has kept them."""

SAMPLES_DOC: dict[str, Any] = {
    "samples": [
        {
            "at": "2026-05-01T00:00:00+00:00",
            "stats_reset": "2026-04-01T00:00:00+00:00",
            "tables": {"public.orders": [120.0, 4.0], "public.old": [0.0, 0.0]},
        },
        {"at": "2026-05-26T12:00:00+00:00", "stats_reset": None, "tables": {}},
    ]
}
"""The db activity samples as ``sbwatch db report`` has kept them."""

TODAYS_DOCS: list[tuple[Slot[Any], dict[str, Any]]] = [
    (host_slot("r"), HOST_DOC),
    (host_slot("r"), {**HOST_DOC, "memory": None}),
    (host_slot("r"), {**HOST_DOC, "cpu": None}),
    (connections_slot("r"), CONNECTIONS_DOC),
    (connections_slot("r"), {**CONNECTIONS_DOC, "worst": None, "top_user": None, "pools": []}),
    (auth_limits_slot("r"), AUTH_DOC),
    (auth_limits_slot("r"), {**AUTH_DOC, "routes": [], "limited": []}),
    (cache_slot("r"), UPTIME_DOC),
    (cache_slot("r"), {"through": "2026-05-26T12:00:00+00:00", "runs": {}}),
    (cursor_slot("h/u/INBOX"), {"uidvalidity": 1700000000, "last_uid": 42}),
    (samples_slot("r"), SAMPLES_DOC),
    (samples_slot("r"), {"samples": []}),
    (MAIL_WATCHER, {"state": "watching", "at": "2026-05-26T12:00:00+00:00"}),
    (MAIL_WATCHER, {"state": "stopped", "at": "2026-05-26T12:00:00+00:00", "error": "IMAP: no"}),
]
"""Each converted document's slot and a document in the shape stored before its slot."""


@pytest.mark.parametrize(("where", "stored"), TODAYS_DOCS)
async def test_a_stored_document_reads_and_is_written_back_the_same(
    where: Slot[Any], stored: dict[str, Any]
) -> None:
    """A document in the stored shape reads as a value; written back, its JSON is the same."""
    store = DictState()
    store.docs[(where.namespace, where.key)] = stored
    value = await where.read(store)
    assert value is not None
    await where.write(store, value)
    assert json.dumps(stored) == json.dumps(store.docs[(where.namespace, where.key)])
    assert value == await where.read(store)


@pytest.mark.parametrize(
    ("where", "stored", "says"),
    [
        (host_slot("r"), {"memory": None, "cpu": None}, "host report: no 'tier'"),
        (host_slot("r"), {**HOST_DOC, "cpu": {**HOST_DOC["cpu"], "cpus": "2"}}, "'cpus' is str"),
        (host_slot("r"), {**HOST_DOC, "memory": []}, "'memory' is list"),
        (connections_slot("r"), {**CONNECTIONS_DOC, "at": 3}, "connections report: 'at' is int"),
        (connections_slot("r"), {**CONNECTIONS_DOC, "pools": [{}]}, "no 'pool'"),
        (connections_slot("r"), {**CONNECTIONS_DOC, "top_user": [1, 2]}, "'top_user'"),
        (cache_slot("r"), {**UPTIME_DOC, "runs": {"nope": []}}, "uptime cache: 'nope'"),
        (
            cache_slot("r"),
            {**UPTIME_DOC, "runs": {"db": [["2026-05-25T00:00:00", T0.isoformat()]]}},
            "uptime cache: no offset",
        ),
        (cursor_slot("k"), {"uidvalidity": 1}, "mailbox cursor: no 'last_uid'"),
        (cursor_slot("k"), {"uidvalidity": 1, "last_uid": "2"}, "'last_uid' is str"),
        (samples_slot("r"), {"samples": [{"at": T0.isoformat()}]}, "db activity samples: no"),
        (samples_slot("r"), {"samples": ["x"]}, "db activity samples: 'samples' holds"),
        (MAIL_WATCHER, {"state": "asleep", "at": T0.isoformat()}, "mail watcher state: 'state'"),
        (MAIL_WATCHER, {"state": "watching", "at": "T"}, "mail watcher state: Invalid isoformat"),
        (auth_limits_slot("r"), {**AUTH_DOC, "limited": [1]}, "auth limits report: 'limited'"),
        (
            auth_limits_slot("r"),
            {"at": AUTH_DOC["at"], "limited": []},
            "auth limits report: no 'routes'",
        ),
    ],
)
async def test_a_malformed_stored_document_names_its_field(
    where: Slot[Any], stored: dict[str, Any], says: str
) -> None:
    """A document of the wrong shape is a ValueError naming the document and the field."""
    store = DictState()
    store.docs[(where.namespace, where.key)] = stored
    with pytest.raises(ValueError, match=re.escape(says)):
        await where.read(store)
