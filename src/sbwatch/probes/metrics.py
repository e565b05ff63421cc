"""The metrics probe: scrape the project's Prometheus endpoint into an IoSample.

The data device is the one with the most bytes read and written. Every expected failure is an
outcome: 401/403 "key rejected", no answer in time (522/544 included) a timeout, a payload
that is not Prometheus text or lacks the disk series a fail naming what is wrong.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sbwatch.core.log import get_logger
from sbwatch.core.results import IoSample, Outcome, ProbeKind, ProbeResult
from sbwatch.probes.base import ProbeContext
from sbwatch.supabase.edge import KEY_REJECTED_STATUSES, ORIGIN_TIMEOUT_STATUSES

METRICS_PATH = "/customer/v1/privileged/metrics"
USERNAME = "service_role"
DATA_MOUNTPOINTS = ("/data", "/")
DISK_SERIES = (
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
)

log = get_logger("probes.metrics")


class PayloadError(ValueError):
    """The scrape answered, but not with usable Prometheus text."""


def sample_to_dict(sample: IoSample) -> dict[str, Any]:
    """A JSON-serialisable form of a sample (``at`` as ISO 8601)."""
    out = asdict(sample)
    out["at"] = sample.at.isoformat()
    return out


def sample_from_dict(data: dict[str, Any]) -> IoSample:
    """Inverse of :func:`sample_to_dict`; unknown keys are ignored."""
    known = {f.name for f in fields(IoSample)}
    values = {k: v for k, v in data.items() if k in known and k != "at"}
    return IoSample(at=datetime.fromisoformat(str(data["at"])), **values)


def _series(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample in the exposition as (name, labels, value); PayloadError if not Prometheus."""
    if text.lstrip().startswith("<"):
        raise PayloadError("not Prometheus text (an HTML or XML page)")
    try:
        return [
            (s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise PayloadError(f"not Prometheus text ({str(exc)[:80]})") from None


def parse_sample(text: str, at: datetime) -> tuple[IoSample, str]:
    """The IoSample in a scrape, and the data device it was read from."""
    series = _series(text)
    by_device: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    gauges: dict[str, float] = {}
    fs: dict[str, dict[str, float]] = {}
    for name, labels, value in series:
        if name in DISK_SERIES and "device" in labels:
            by_device.setdefault(labels["device"], {})[name] = value
        elif name == "node_cpu_seconds_total":
            mode = labels.get("mode", "")
            cpu[mode] = cpu.get(mode, 0.0) + value
        elif name in ("node_filesystem_avail_bytes", "node_filesystem_size_bytes"):
            fs.setdefault(labels.get("mountpoint", ""), {})[name] = value
        elif name in ("node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "pg_up"):
            gauges[name] = value
    device = _data_device(by_device)
    disk = by_device[device]
    mount = next((fs[m] for m in DATA_MOUNTPOINTS if m in fs), {})
    sample = IoSample(
        at=at,
        read_bytes_total=disk["node_disk_read_bytes_total"],
        written_bytes_total=disk["node_disk_written_bytes_total"],
        reads_completed_total=disk["node_disk_reads_completed_total"],
        writes_completed_total=disk["node_disk_writes_completed_total"],
        iowait_seconds_total=cpu.get("iowait"),
        cpu_seconds_total=sum(cpu.values()) if cpu else None,
        idle_seconds_total=cpu.get("idle"),
        mem_available_bytes=gauges.get("node_memory_MemAvailable_bytes"),
        mem_total_bytes=gauges.get("node_memory_MemTotal_bytes"),
        fs_avail_bytes=mount.get("node_filesystem_avail_bytes"),
        fs_size_bytes=mount.get("node_filesystem_size_bytes"),
        pg_up=gauges.get("pg_up"),
    )
    return sample, device


def _data_device(by_device: dict[str, dict[str, float]]) -> str:
    """The complete device with the largest read+written bytes; PayloadError when none."""
    complete = {d: v for d, v in by_device.items() if all(name in v for name in DISK_SERIES)}
    if not complete:
        if not by_device:
            raise PayloadError("no disk series (node_disk_read_bytes_total...) in the payload")
        missing = sorted({n for v in by_device.values() for n in DISK_SERIES if n not in v})
        raise PayloadError(f"disk series missing: {', '.join(missing)}")
    return max(
        complete,
        key=lambda d: (
            complete[d]["node_disk_read_bytes_total"] + complete[d]["node_disk_written_bytes_total"]
        ),
    )


class MetricsProbe:
    """Scrapes ``/customer/v1/privileged/metrics`` with the service key (HTTP basic auth)."""

    kind = ProbeKind.METRICS

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.url = ctx.project.base_url + METRICS_PATH
        settings = ctx.project.probes.get(ProbeKind.METRICS)
        self.timeout_s = settings.timeout.total_seconds() if settings else 10.0

    async def run(self) -> ProbeResult:
        """Scrape once."""
        at = self.ctx.clock.now()
        started = self.ctx.clock.monotonic()
        outcome, detail, status, data = await self._scrape(at)
        duration = self.ctx.clock.monotonic() - started
        log.debug("metrics scraped", project=self.ctx.project.ref, outcome=str(outcome))
        return ProbeResult(
            project=self.ctx.project.ref,
            probe=self.kind,
            outcome=outcome,
            at=at,
            duration_s=duration,
            detail=detail,
            status_code=status,
            data=data,
        )

    async def _scrape(self, at: datetime) -> tuple[Outcome, str, int | None, dict[str, Any]]:
        key = self.ctx.project.service_key
        if key is None:
            return Outcome.FAIL, "no service key configured", None, {}
        try:
            response = await self.ctx.http.get(
                self.url,
                auth=httpx.BasicAuth(USERNAME, key.get_secret_value()),
                timeout=self.timeout_s,
                headers={"Accept": "text/plain"},
            )
        except httpx.TimeoutException:
            return Outcome.TIMEOUT, f"no answer within {self.timeout_s:g}s", None, {}
        except httpx.ConnectError as exc:  # refused, DNS, TLS: we could not even ask
            return Outcome.ERROR, f"cannot connect: {type(exc).__name__}", None, {}
        except httpx.HTTPError as exc:  # reached, but the answer broke off
            return Outcome.FAIL, f"answer broke off: {type(exc).__name__}", None, {}
        code = response.status_code
        if code in KEY_REJECTED_STATUSES:
            return Outcome.FAIL, "key rejected", code, {}
        if code in ORIGIN_TIMEOUT_STATUSES:
            return Outcome.TIMEOUT, f"origin timeout (HTTP {code})", code, {}
        if code != 200:
            return Outcome.FAIL, f"HTTP {code}", code, {}
        try:
            sample, device = parse_sample(response.text, at)
        except PayloadError as exc:
            return Outcome.FAIL, str(exc), code, {}
        return Outcome.OK, f"device {device}", code, {"sample": sample_to_dict(sample)}

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared and owned by the app."""
