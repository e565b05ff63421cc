"""The metrics probe against mocked answers and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from sbwatch.config.settings import ProbeSettings, ProjectSettings, Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import IoSample, Outcome, ProbeKind, ProbeResult
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.metrics import MetricsProbe, is_whole_disk, parse_sample

from .conftest import MetricsServerFactory

REF = "abcdefghijklmnopqrst"
KEY = "sb-secret-service-key-123"

PAYLOAD = """\
# HELP node_disk_read_bytes_total The total number of bytes read successfully.
# TYPE node_disk_read_bytes_total counter
node_disk_read_bytes_total{device="nvme0n1",supabase_project_ref="abcdefghijklmnopqrst"} 1.0e9
node_disk_read_bytes_total{device="nvme1n1",supabase_project_ref="abcdefghijklmnopqrst"} 5.0e10
# TYPE node_disk_written_bytes_total counter
node_disk_written_bytes_total{device="nvme0n1"} 2.0e9
node_disk_written_bytes_total{device="nvme1n1"} 3.0e10
# TYPE node_disk_reads_completed_total counter
node_disk_reads_completed_total{device="nvme0n1"} 1000
node_disk_reads_completed_total{device="nvme1n1"} 400000
# TYPE node_disk_writes_completed_total counter
node_disk_writes_completed_total{device="nvme0n1"} 2000
node_disk_writes_completed_total{device="nvme1n1"} 250000
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1000
node_cpu_seconds_total{cpu="0",mode="iowait"} 50
node_cpu_seconds_total{cpu="0",mode="user"} 200
node_cpu_seconds_total{cpu="1",mode="idle"} 900
node_cpu_seconds_total{cpu="1",mode="iowait"} 70
node_cpu_seconds_total{cpu="1",mode="user"} 300
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 2.5e8
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1.0e9
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{mountpoint="/"} 1.0e9
node_filesystem_avail_bytes{mountpoint="/data"} 6.0e9
# TYPE node_filesystem_size_bytes gauge
node_filesystem_size_bytes{mountpoint="/"} 2.0e9
node_filesystem_size_bytes{mountpoint="/data"} 8.0e9
# TYPE pg_up gauge
pg_up 1
"""

NOW = datetime(2026, 5, 20, tzinfo=UTC)
EXPECTED = IoSample(
    at=NOW,
    read_bytes_total=5.1e10,
    written_bytes_total=3.2e10,
    reads_completed_total=401000,
    writes_completed_total=252000,
    iowait_seconds_total=120,
    cpu_seconds_total=2520,
    idle_seconds_total=1900,
    mem_available_bytes=2.5e8,
    mem_total_bytes=1.0e9,
    fs_avail_bytes=6.0e9,
    fs_size_bytes=8.0e9,
    pg_up=1.0,
)


def context(http: httpx.AsyncClient, url: str = "https://example.invalid") -> ProbeContext:
    """A context with one project that runs only the metrics probe."""
    project = ProjectSettings(
        ref=REF,
        url=url,
        service_key=SecretStr(KEY),
        probes={ProbeKind.METRICS: ProbeSettings(timeout=timedelta(seconds=2))},
    )
    return ProbeContext(Settings(projects=[project]), project, http, VirtualClock(NOW))


Handler = Callable[[httpx.Request], httpx.Response]


def mocked(handler: Handler) -> httpx.AsyncClient:
    """An AsyncClient answering through ``handler``."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def run_with(handler: Handler) -> ProbeResult:
    """Run the probe once against a mocked transport."""
    async with mocked(handler) as http:
        return await MetricsProbe(context(http)).run()


async def test_good_payload_yields_the_summed_disks_sample() -> None:
    """Both disks summed (they share one budget), CPU modes, /data space and pg_up."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=PAYLOAD)

    result = await run_with(handler)
    assert (Outcome.OK, "disks nvme0n1, nvme1n1") == (result.outcome, result.detail)
    assert (EXPECTED, 0) == (result.sample, result.skipped_lines)
    assert "/customer/v1/privileged/metrics" == seen[0].url.path
    expected_auth = httpx.BasicAuth("service_role", KEY)._auth_header
    assert expected_auth == seen[0].headers["authorization"]


async def test_root_filesystem_is_used_without_data_mount() -> None:
    """Without a /data mountpoint the / filesystem is reported."""
    text = PAYLOAD.replace('mountpoint="/data"', 'mountpoint="/boot"')
    result = await run_with(lambda request: httpx.Response(200, text=text))
    sample = result.sample
    assert sample is not None
    assert (1.0e9, 2.0e9) == (sample.fs_avail_bytes, sample.fs_size_bytes)


@pytest.mark.parametrize(
    ("response", "outcome", "detail"),
    [
        (httpx.Response(401), Outcome.FAIL, "key rejected (401)"),
        (httpx.Response(403), Outcome.FAIL, "key rejected (403)"),
        (httpx.Response(522), Outcome.TIMEOUT, "origin timeout (522)"),
        (httpx.Response(500, text="oops"), Outcome.FAIL, "server error (500)"),
        (
            httpx.Response(200, text="<html><body>Bad gateway</body></html>"),
            Outcome.FAIL,
            "not Prometheus text (an HTML or XML page)",
        ),
        (
            httpx.Response(200, text="node_cpu_seconds_total{mode='idle' 12"),
            Outcome.FAIL,
            None,
        ),
        (
            httpx.Response(200, text="pg_up 1\n"),
            Outcome.FAIL,
            "no disk series (node_disk_read_bytes_total...) in the payload",
        ),
        (
            httpx.Response(200, text='node_disk_read_bytes_total{device="sda"} 1\n'),
            Outcome.FAIL,
            "disk series missing: node_disk_reads_completed_total, "
            "node_disk_writes_completed_total, node_disk_written_bytes_total",
        ),
    ],
)
async def test_failures_are_outcomes(
    response: httpx.Response, outcome: Outcome, detail: str | None
) -> None:
    """Rejected keys, edge timeouts, errors, HTML, garbage and missing series are outcomes."""
    result = await run_with(lambda request: response)
    assert outcome == result.outcome
    if detail is not None:
        assert detail == result.detail
    else:
        assert result.detail.startswith("not Prometheus text")
    assert (None, {}) == (result.sample, result.data)
    assert KEY not in result.detail


REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
REAL_SCRAPE = REAL / "prom_supabase_grafana_metrics_md_2025-06.prom"


def test_the_providers_published_exposition_is_read_whole() -> None:
    """The provider's own sample of the endpoint yields both disks and nothing left out."""
    sample, disks, skipped = parse_sample(REAL_SCRAPE.read_text(), NOW)
    assert (("nvme0n1", "nvme1n1"), 0) == (disks, skipped)
    assert (0.0, 0.0) == (sample.fs_avail_bytes, sample.pg_up)  # the provider zeroed values


@pytest.mark.parametrize(
    "bad_line",
    [
        'pgbouncer_pools_client_active_connections{database="x",user="u",database="y"} 3',
        'node_network_receive_bytes_total{device="eth0" 12',
        "supavisor_clients{tenant=} NaNx",
    ],
)
async def test_an_unreadable_line_elsewhere_keeps_the_disk_series(bad_line: str) -> None:
    """One broken family costs only its line: the sample is whole and the skip is counted."""
    text = REAL_SCRAPE.read_text().replace(
        "# HELP node_disk_read_bytes_total", f"{bad_line}\n# HELP node_disk_read_bytes_total"
    )
    text = text.replace(" 0\n", " 7\n")  # give every series a value to sum
    result = await run_with(lambda request: httpx.Response(200, text=text))
    assert (Outcome.OK, 1) == (result.outcome, result.skipped_lines)
    assert result.sample is not None
    assert (14.0, 14.0) == (result.sample.read_bytes_total, result.sample.writes_completed_total)
    assert result.detail.endswith("1 unreadable lines left out")


async def test_devices_no_pattern_fits_are_summed_and_said() -> None:
    """When no ``device`` label fits a whole-disk pattern (``device_1``, ``device_2``), every
    device present is summed rather than the probe going blind, and the detail says so."""
    text = PAYLOAD.replace('"nvme0n1"', '"device_1"').replace('"nvme1n1"', '"device_2"')
    result = await run_with(lambda request: httpx.Response(200, text=text))
    assert (Outcome.OK, EXPECTED) == (result.outcome, result.sample)
    assert result.detail.startswith("devices device_1, device_2 summed: no device label")
    mixed = PAYLOAD.replace('"nvme1n1"', '"nvme0n1p1"')
    sample, disks, _ = parse_sample(mixed, NOW)
    assert ("nvme0n1",) == disks  # a whole disk present: its partitions are not added
    assert 1.0e9 == sample.read_bytes_total


@pytest.mark.parametrize(
    ("device", "whole"),
    [
        ("nvme0n1", True),
        ("nvme1n1", True),
        ("nvme0n1p2", False),
        ("sda", True),
        ("sda1", False),
        ("dm-0", False),
        ("loop3", False),
        ("xvda", True),
    ],
)
def test_partitions_are_not_counted_twice(device: str, whole: bool) -> None:
    """Only whole disks are summed: a partition's IO is already on its disk."""
    assert whole == is_whole_disk(device)


async def test_timeout_is_a_timeout() -> None:
    """No answer in time is outcome timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    result = await run_with(handler)
    assert (Outcome.TIMEOUT, "no answer in time") == (result.outcome, result.detail)


async def test_real_server_on_loopback(metrics_server: MetricsServerFactory) -> None:
    """Against a real HTTP server the probe authenticates and parses the scrape."""
    server = metrics_server(PAYLOAD, KEY)
    await server.start()
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{server.port}/p/{REF}")).run()
    assert Outcome.OK == result.outcome
    assert EXPECTED == result.sample
    assert [f"/p/{REF}/customer/v1/privileged/metrics"] == server.paths


async def test_real_server_rejecting_the_key(metrics_server: MetricsServerFactory) -> None:
    """A real 401 reads as key rejected, without the key in the result."""
    server = metrics_server(PAYLOAD, "another-key")
    await server.start()
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{server.port}")).run()
    assert (Outcome.FAIL, "key rejected (401)", 401) == (
        result.outcome,
        result.detail,
        result.status_code,
    )
    assert KEY not in repr(result)


async def test_refused_connection_is_an_error() -> None:
    """Nothing listening on the port: outcome error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{port}")).run()
    assert Outcome.ERROR == result.outcome
