"""The metrics probe against mocked answers and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import httpx
import pytest

from sbwatch.config.settings import ProbeSettings, ProjectSettings, Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.results import IoSample, Outcome, ProbeKind
from sbwatch.probes.base import ProbeContext
from sbwatch.probes.metrics import MetricsProbe, sample_from_dict, sample_to_dict

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
    read_bytes_total=5.0e10,
    written_bytes_total=3.0e10,
    reads_completed_total=400000,
    writes_completed_total=250000,
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
        service_key=KEY,
        probes={ProbeKind.METRICS: ProbeSettings(timeout="2s")},
    )
    return ProbeContext(Settings(projects=[project]), project, http, VirtualClock(NOW))


def mocked(handler) -> httpx.AsyncClient:
    """An AsyncClient answering through ``handler``."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def run_with(handler):
    """Run the probe once against a mocked transport."""
    async with mocked(handler) as http:
        return await MetricsProbe(context(http)).run()


async def test_good_payload_yields_the_data_device_sample():
    """The device with most bytes, summed CPU modes, /data space and pg_up make the sample."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=PAYLOAD)

    result = await run_with(handler)
    assert (Outcome.OK, "device nvme1n1") == (result.outcome, result.detail)
    assert {"sample": sample_to_dict(EXPECTED)} == result.data
    assert EXPECTED == sample_from_dict(result.data["sample"])
    assert "/customer/v1/privileged/metrics" == seen[0].url.path
    expected_auth = httpx.BasicAuth("service_role", KEY)._auth_header
    assert expected_auth == seen[0].headers["authorization"]


async def test_root_filesystem_is_used_without_data_mount():
    """Without a /data mountpoint the / filesystem is reported."""
    text = PAYLOAD.replace('mountpoint="/data"', 'mountpoint="/boot"')
    result = await run_with(lambda request: httpx.Response(200, text=text))
    sample = sample_from_dict(result.data["sample"])
    assert (1.0e9, 2.0e9) == (sample.fs_avail_bytes, sample.fs_size_bytes)


@pytest.mark.parametrize(
    ("response", "outcome", "detail"),
    [
        (httpx.Response(401), Outcome.FAIL, "key rejected"),
        (httpx.Response(403), Outcome.FAIL, "key rejected"),
        (httpx.Response(522), Outcome.TIMEOUT, "origin timeout (HTTP 522)"),
        (httpx.Response(500, text="oops"), Outcome.FAIL, "HTTP 500"),
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
async def test_failures_are_outcomes(response, outcome, detail):
    """Rejected keys, edge timeouts, errors, HTML, garbage and missing series are outcomes."""
    result = await run_with(lambda request: response)
    assert outcome == result.outcome
    if detail is not None:
        assert detail == result.detail
    else:
        assert result.detail.startswith("not Prometheus text")
    assert {} == result.data
    assert KEY not in result.detail


async def test_timeout_is_a_timeout():
    """No answer in time is outcome timeout."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    result = await run_with(handler)
    assert (Outcome.TIMEOUT, "no answer within 2s") == (result.outcome, result.detail)


async def test_real_server_on_loopback(metrics_server):
    """Against a real HTTP server the probe authenticates and parses the scrape."""
    server = metrics_server(PAYLOAD, KEY)
    await server.start()
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{server.port}/p/{REF}")).run()
    assert Outcome.OK == result.outcome
    assert EXPECTED == sample_from_dict(result.data["sample"])
    assert [f"/p/{REF}/customer/v1/privileged/metrics"] == server.paths


async def test_real_server_rejecting_the_key(metrics_server):
    """A real 401 reads as key rejected, without the key in the result."""
    server = metrics_server(PAYLOAD, "another-key")
    await server.start()
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{server.port}")).run()
    assert (Outcome.FAIL, "key rejected", 401) == (
        result.outcome,
        result.detail,
        result.status_code,
    )
    assert KEY not in repr(result)


async def test_refused_connection_is_an_error():
    """Nothing listening on the port: outcome error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as http:
        result = await MetricsProbe(context(http, f"http://127.0.0.1:{port}")).run()
    assert Outcome.ERROR == result.outcome
