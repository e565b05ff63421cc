"""Project endpoints, the metrics endpoint, host routing, the status page and the control API."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sbwatch.core.clock import VirtualClock
from sbwatch.probes.metrics import read_exposition
from sbwatch.sim.endpoints import ExpositionResponse, ProjectCollector
from sbwatch.sim.model import ROOT_SHARE
from sbwatch.sim.world import SimWorld

from .conftest import KEY, REF

APIKEY = {"apikey": KEY}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"service_role:{KEY}".encode()).decode()}


def overload(world: SimWorld, clock: VirtualClock) -> None:
    world.project(REF).model.set_demand(60, 0)
    clock.advance(3 * 3600)


async def test_rest_ok_when_up(client: httpx.AsyncClient) -> None:
    """REST answers 200 JSON with the apikey."""
    response = await client.get(f"/p/{REF}/rest/v1/", headers=APIKEY)
    assert (200, "application/json") == (response.status_code, response.headers["content-type"])


@pytest.mark.parametrize("headers", [{}, {"apikey": "wrong"}])
async def test_rest_needs_the_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """REST without a valid apikey answers 401."""
    assert 401 == (await client.get(f"/p/{REF}/rest/v1/", headers=headers)).status_code


async def test_rest_overloaded_522_after_20s_or_544(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """Overloaded REST answers 522 after a 20 s (virtual) delay, or 544 at once; auth stays up."""
    overload(world, clock)
    seen: dict[int, list[float]] = {}
    for _ in range(20):
        before = clock.elapsed
        response = await client.get(f"/p/{REF}/rest/v1/", headers=APIKEY)
        seen.setdefault(response.status_code, []).append(clock.elapsed - before)
    assert {522, 544} == set(seen)
    assert {20.0} == set(seen[522])
    assert {0.0} == set(seen[544])
    auth = await client.get(f"/p/{REF}/auth/v1/health", headers=APIKEY)
    assert (200, "GoTrue") == (auth.status_code, auth.json()["name"])


@pytest.mark.parametrize(
    ("event", "rest", "auth"),
    [
        ({"kind": "service", "name": "rest", "up": False}, 503, 200),
        ({"kind": "service", "name": "auth", "up": False}, 200, 503),
        ({"kind": "service", "name": "db", "up": False}, 503, 200),
        ({"kind": "project", "state": "paused"}, 540, 540),
    ],
)
async def test_service_faults(
    client: httpx.AsyncClient, world: SimWorld, event: dict[str, object], rest: int, auth: int
) -> None:
    """Service and project events change what REST and auth answer."""
    world.apply(event)
    got_rest = await client.get(f"/p/{REF}/rest/v1/", headers=APIKEY)
    got_auth = await client.get(f"/p/{REF}/auth/v1/health", headers=APIKEY)
    assert (rest, auth) == (got_rest.status_code, got_auth.status_code)


async def test_host_header_selects_the_project(client: httpx.AsyncClient) -> None:
    """``Host: <ref>.supabase.co`` serves the same endpoints as the /p/<ref> prefix."""
    response = await client.get("/auth/v1/health", headers={"host": f"{REF}.supabase.co", **APIKEY})
    assert 200 == response.status_code


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"service_role:nope").decode()},
        {"Authorization": "Basic ???"},
    ],
)
async def test_metrics_need_basic_auth(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The metrics endpoint wants service_role and the service key."""
    response = await client.get(f"/p/{REF}/customer/v1/privileged/metrics", headers=headers)
    assert 401 == response.status_code


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of the metrics endpoint: (name, sorted labels) -> value."""
    response = await client.get(f"/p/{REF}/customer/v1/privileged/metrics", headers=BASIC)
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def disk(device: str) -> tuple[tuple[str, str], ...]:
    """The labels of one disk's series, as the real exposition has them."""
    return (
        ("device", device),
        ("service_type", "db"),
        ("supabase_identifier", REF),
        ("supabase_project_ref", REF),
    )


async def test_metrics_follow_the_model(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """The Prometheus text carries the model's counters of both disks, as of the last minute."""
    world.apply({"kind": "workload", "read_mbps": 15, "write_mbps": 5})
    clock.advance(100)
    samples = await scrape(client)
    data, root = disk("nvme1n1"), disk("nvme0n1")
    minute = 60.0  # the values are those of the last whole minute
    share = 1 - ROOT_SHARE
    assert 15e6 * minute * share == pytest.approx(samples[("node_disk_read_bytes_total", data)])
    assert 5e6 * minute * share == pytest.approx(samples[("node_disk_written_bytes_total", data)])
    assert 15e6 * minute * ROOT_SHARE == pytest.approx(
        samples[("node_disk_read_bytes_total", root)]
    )
    reads = samples[("node_disk_reads_completed_total", data)]
    assert 15e6 * minute * share / 131072 == pytest.approx(reads)
    names = {name for name, _ in samples}
    expected = {
        "node_disk_read_bytes_total", "node_disk_written_bytes_total",
        "node_disk_reads_completed_total",
        "node_disk_writes_completed_total", "node_disk_io_time_seconds_total", "node_disk_io_now",
        "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "pg_up",
    }  # fmt: skip
    assert expected <= names
    devices = {dict(labels).get("device") for name, labels in samples if name == "node_disk_io_now"}
    assert {"nvme0n1", "nvme1n1"} == devices
    cpu = sum(v for (name, _), v in samples.items() if name == "node_cpu_seconds_total")
    assert pytest.approx(2 * minute) == cpu
    mounts = {
        dict(labels).get("mountpoint")
        for name, labels in samples
        if name.startswith("node_filesystem")
    }
    assert {"/", "/data"} == mounts
    pg = {dict(labels).get("service_type") for name, labels in samples if name == "pg_up"}
    assert {"postgresql"} == pg


REAL_EXPOSITION = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "real"
    / "prom_supabase_grafana_metrics_md_2025-06.prom"
)


def real_label_sets() -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """Per series name in the provider's published sample: its label names and the values of
    the labels that tell series apart (device, mountpoint, mode, service_type)."""
    found: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for line in REAL_EXPOSITION.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            families = list(text_string_to_metric_families(line + "\n"))
        except ValueError:
            continue  # the family with a repeated label name
        for family in families:
            for sample in family.samples:
                found.setdefault(sample.name, set()).add(shape(sample.labels))
    return found


def shape(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Label names, with the values only of the labels that tell series apart."""
    telling = ("device", "mountpoint", "mode", "service_type", "fstype")
    return tuple(sorted((k, v if k in telling else "*") for k, v in labels.items() if k != "cpu"))


async def test_the_exposition_has_the_real_endpoints_shape(client: httpx.AsyncClient) -> None:
    """Every series sbwatch reads is labelled as in the provider's published sample: the same
    label names, both disks, the root and /data filesystems, service_type db or postgresql."""
    real = real_label_sets()
    response = await client.get(f"/p/{REF}/customer/v1/privileged/metrics", headers=BASIC)
    ours: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            ours.setdefault(sample.name, set()).add(shape(sample.labels))
    assert set(ours) <= set(real), sorted(set(ours) - set(real))
    for name, shapes in ours.items():
        if name == "node_cpu_seconds_total":  # the sample lists every mode; we give four
            assert shapes <= real[name], name
        else:
            assert real[name] == shapes, name


async def test_a_scrape_within_the_minute_repeats_the_sample(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """The endpoint updates once a minute: two scrapes 20 s apart read the same counters."""
    world.apply({"kind": "workload", "read_mbps": 15})
    clock.advance(65)
    first = await scrape(client)
    clock.advance(20)
    second = await scrape(client)
    clock.advance(40)  # 2m05s: a new minute
    third = await scrape(client)
    key = ("node_disk_read_bytes_total", disk("nvme1n1"))
    assert first[key] == second[key] < third[key]


async def test_a_resize_restarts_the_counters(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """After a tier change the counters start again from 0 (the instance rebooted)."""
    world.apply({"kind": "workload", "read_mbps": 15})
    clock.advance(3600)
    before = (await scrape(client))[("node_disk_read_bytes_total", disk("nvme1n1"))]
    world.resize(REF, "small")
    clock.advance(world.resize_seconds + 60)
    after = (await scrape(client))[("node_disk_read_bytes_total", disk("nvme1n1"))]
    assert 0 < after < before
    assert 1 == world.truth(REF)["restarts"]


async def test_throttled_rest_answers_slowly_before_it_fails(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """An empty budget at 1.4x the baseline: REST answers 200, seconds late; auth stays fast."""
    world.project(REF).model.set_demand(0, 0)
    world.add_project("bbbbbbbbbbbbbbbbbbbb", "micro", budget_pct=0)
    world.apply({"kind": "workload", "read_mbps": 15.4, "ref": "bbbbbbbbbbbbbbbbbbbb"})
    clock.advance(3600)
    before = clock.elapsed
    response = await client.get("/p/bbbbbbbbbbbbbbbbbbbb/rest/v1/", headers=APIKEY)
    took = clock.elapsed - before
    assert 200 == response.status_code
    assert 5.0 < took < 20.0
    before = clock.elapsed
    auth = await client.get("/p/bbbbbbbbbbbbbbbbbbbb/auth/v1/health", headers=APIKEY)
    assert (200, True) == (auth.status_code, clock.elapsed - before < 1.0)
    fast = await client.get(f"/p/{REF}/rest/v1/", headers=APIKEY)
    assert 200 == fast.status_code


async def test_status_page_follows_events(client: httpx.AsyncClient, world: SimWorld) -> None:
    """status.json and summary.json follow status_page events, components and incidents included."""
    calm = (await client.get("/status/api/v2/summary.json")).json()
    assert ("none", [], {"operational"}) == (
        calm["status"]["indicator"], calm["incidents"], {c["status"] for c in calm["components"]}
    )  # fmt: skip
    world.apply({"kind": "status_page", "indicator": "minor", "components": ["Storage"]})
    summary = (await client.get("/status/api/v2/summary.json")).json()
    by_name = {c["name"]: c["status"] for c in summary["components"]}
    assert ("degraded_performance", "operational") == (by_name["Storage"], by_name["Database"])
    assert 1 == len(summary["incidents"])
    world.apply({"kind": "status_page", "indicator": "critical"})
    status = (await client.get("/status/api/v2/status.json")).json()
    summary = (await client.get("/status/api/v2/summary.json")).json()
    assert "critical" == status["status"]["indicator"]
    assert {"major_outage"} == {c["status"] for c in summary["components"]}


async def test_control_api(client: httpx.AsyncClient, world: SimWorld) -> None:
    """Events, truth, stats and new projects through /_sim."""
    added = await client.post(
        "/_sim/projects", json={"ref": "bbbbbbbbbbbbbbbbbbbb", "tier": "small", "budget_pct": 50}
    )
    assert (201, 0.5) == (added.status_code, added.json()["budget_ratio"])
    applied = await client.post(
        "/_sim/events", json={"kind": "service", "name": "rest", "up": False, "ref": REF}
    )
    refused = await client.post("/_sim/events", json={"kind": "meteor"})
    truth = (await client.get(f"/_sim/truth/{REF}")).json()
    stats = (await client.get("/_sim/stats")).json()
    assert (200, 400, ["rest"]) == (applied.status_code, refused.status_code, truth["down"])
    assert {"patch_calls": 0, "patch_attempts": 0, "emails": 0} == stats
    assert 404 == (await client.get("/_sim/truth/zzzzzzzzzzzzzzzzzzzz")).status_code
    assert 400 == (await client.post("/_sim/projects", json={"ref": "BAD"})).status_code


def test_the_auth_config_document_is_built_from_its_blank_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """About 200 blank fields are read from the spec once, not at every answer; each answer
    is a document of its own with the project's SMTP server."""
    from sbwatch.sim import auth_limits

    blanks = 0
    blank = auth_limits._blank

    def counting(prop: dict[str, object]) -> object:
        nonlocal blanks
        blanks += 1
        return blank(prop)

    monkeypatch.setattr(auth_limits, "_blank", counting)
    auth_limits._blank_document.cache_clear()
    first = auth_limits.auth_config_document(auth_limits.AuthLimits())
    built = blanks
    second = auth_limits.auth_config_document(auth_limits.AuthLimits(custom_smtp=True))
    auth_limits._blank_document.cache_clear()
    assert built > 100
    assert built == blanks
    assert first is not second
    assert first.keys() == second.keys()
    assert (first["smtp_host"], second["smtp_port"]) == (None, "587")
    assert {k: v for k, v in first.items() if not k.startswith("smtp_")} == {
        k: v for k, v in second.items() if not k.startswith("smtp_")
    }


async def test_the_samples_handed_over_are_what_the_text_says(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock
) -> None:
    """The replay's in-process client hands a scrape's samples over instead of the text
    (sim/direct.py): they are the very samples the text gives, counters and all, at a quiet
    start and under load, leaks and refusals."""
    events: list[dict[str, object]] = [
        {"kind": "workload", "read_mbps": 60, "write_mbps": 5},
        {"kind": "connections", "leak_per_hour": 40},
        {"kind": "memory", "work_gb": 0.2, "leak_gb_per_hour": 0.3},
        {"kind": "auth_limit", "route": "/token", "refused_per_minute": 7},
        {"kind": "cpu", "load_cpus": 1.5},
    ]
    for event in [None, *events]:
        if event is not None:
            world.apply(event)
        clock.advance(1800)
        response = await client.get(f"/p/{REF}/customer/v1/privileged/metrics", headers=BASIC)
        handed = ExpositionResponse(list(ProjectCollector(world.project(REF)).collect()))
        assert read_exposition(response.text).series == handed.samples
    names = {name for name, _, _ in handed.samples}
    assert {"node_disk_read_bytes_total", "http_status_codes_total", "pg_up"} <= names
