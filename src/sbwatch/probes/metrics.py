"""The metrics probe: scrape the project's Prometheus endpoint into an IoSample.

The exposition is read line-tolerantly: when the whole text does not parse (a family of the
provider's has repeated a label name), every line is read on its own and the unreadable ones
are left out and counted, so an unrelated line never costs the disk series. The instance's
disks (root with swap, and /data) share one IO budget: their counters are summed. Every
expected failure is an outcome, by the rules every HTTP probe follows (``probes._common``:
401/403 the key rejected, 522/544 and no answer in time a timeout, refused a connection
error); a payload that is not Prometheus text or lacks the disk series is a fail naming what
is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sbwatch.core.log import get_logger
from sbwatch.core.results import HostSample, IoSample, Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import http_error_outcome, status_outcome, timeout_s
from sbwatch.probes.base import ProbeContext
from sbwatch.supabase.auth_limits import SERIES as AUTH_SERIES
from sbwatch.supabase.auth_limits import read_refused
from sbwatch.supabase.connections import WANTED as CONNECTION_SERIES
from sbwatch.supabase.connections import read_connections

METRICS_PATH = "/customer/v1/privileged/metrics"
USERNAME = "service_role"
DATA_MOUNTPOINTS = ("/data", "/")
DISK_SERIES = (
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_disk_reads_completed_total",
    "node_disk_writes_completed_total",
)
WANTED = frozenset(
    {
        *DISK_SERIES,
        "node_cpu_seconds_total",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_memory_SwapTotal_bytes",
        "node_memory_SwapFree_bytes",
        "pg_up",
    }
)
HOST_GAUGES = {
    "node_memory_MemTotal_bytes": "mem_total_bytes",
    "node_memory_MemAvailable_bytes": "mem_available_bytes",
    "node_memory_SwapTotal_bytes": "swap_total_bytes",
    "node_memory_SwapFree_bytes": "swap_free_bytes",
    "node_vmstat_pswpin": "swap_in_pages_total",
    "node_vmstat_pswpout": "swap_out_pages_total",
    "node_vmstat_pgmajfault": "major_faults_total",
    "node_vmstat_oom_kill": "oom_kills_total",
}
"""The memory and swap series of the host reading, by HostSample field."""
CPU_IDLE_MODES = frozenset({"idle", "iowait"})
"""CPU time that is not busy: iowait is waiting on the disks (the IO budget's), not work."""
PARTITION = re.compile(r"(p\d+|\d+)$|^(dm-|loop|ram|sr|zram)")
"""Partitions and virtual devices: their IO is already counted on the whole disk."""

SERIES_EXTENSION = "sbwatch.series"
"""A response extension: the samples an in-process server wrote into the text it answered.

The replay's simulator hands them over beside the text (sim/direct.py); they are used as they
are instead of reading the text again. Every other answer is read from its text.
"""

log = get_logger("probes.metrics")

Series = tuple[str, dict[str, str], float]


class PayloadError(ValueError):
    """The scrape answered, but not with usable Prometheus text."""


@dataclass(frozen=True)
class Exposition:
    """The samples of one scrape, and how many lines could not be read."""

    series: list[Series]
    skipped_lines: int


def _parse(text: str) -> list[Series]:
    return [
        (s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def read_exposition(text: str) -> Exposition:
    """Every readable sample; PayloadError when the text is not Prometheus at all."""
    if text.lstrip().startswith("<"):
        raise PayloadError("not Prometheus text (an HTML or XML page)")
    try:
        return Exposition(_parse(text), 0)
    except (ValueError, TypeError, IndexError, KeyError):
        pass  # one bad line; read them one by one below
    series: list[Series] = []
    skipped = 0
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        try:
            series.extend(_parse(line + "\n"))
        except (ValueError, TypeError, IndexError, KeyError):
            skipped += 1
    if not series:
        raise PayloadError(f"not Prometheus text ({skipped} unreadable lines)")
    return Exposition(series, skipped)


def _exposition(response: httpx.Response) -> Exposition:
    written: list[Series] | None = response.extensions.get(SERIES_EXTENSION)
    if written is not None:
        return Exposition(written, 0)
    return read_exposition(response.text)


def is_whole_disk(device: str) -> bool:
    """Whether a ``device`` label names a whole disk (nvme0n1, sda), not a partition."""
    if device.startswith("nvme"):
        return re.fullmatch(r"nvme\d+n\d+", device) is not None
    return PARTITION.search(device) is None


def parse_sample(text: str, at: datetime) -> tuple[IoSample, tuple[str, ...], int]:
    """The IoSample in a scrape, the disks it sums and the number of lines left out."""
    return sample_of(read_exposition(text), at)


def sample_of(exposition: Exposition, at: datetime) -> tuple[IoSample, tuple[str, ...], int]:
    """The IoSample in read samples, the disks it sums and the number of lines left out."""
    by_device: dict[str, dict[str, float]] = {}
    every_device: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    gauges: dict[str, float] = {}
    fs: dict[str, dict[str, float]] = {}
    connections: list[Series] = []
    auth: list[Series] = []
    for name, labels, value in exposition.series:
        if name in CONNECTION_SERIES:
            connections.append((name, labels, value))
        elif name == AUTH_SERIES:
            auth.append((name, labels, value))
        if name not in WANTED:
            continue
        if name in DISK_SERIES:
            device = labels.get("device", "")
            every_device.setdefault(device, {})[name] = value
            if is_whole_disk(device):
                by_device.setdefault(device, {})[name] = value
        elif name == "node_cpu_seconds_total":
            mode = labels.get("mode", "")
            cpu[mode] = cpu.get(mode, 0.0) + value
        elif name.startswith("node_filesystem_"):
            fs.setdefault(labels.get("mountpoint", ""), {})[name] = value
        else:
            gauges[name] = value
    if not _complete_disks(by_device, strict=False):
        # No label fits a whole-disk pattern (a published sample names them device_1...): sum
        # every device there is rather than go blind; the probe says so.
        by_device = every_device
    disks = _complete_disks(by_device)
    mount = next((fs[m] for m in DATA_MOUNTPOINTS if m in fs), {})

    def total(series: str) -> float:
        return sum(by_device[d][series] for d in disks)

    sample = IoSample(
        at=at,
        read_bytes_total=total("node_disk_read_bytes_total"),
        written_bytes_total=total("node_disk_written_bytes_total"),
        reads_completed_total=total("node_disk_reads_completed_total"),
        writes_completed_total=total("node_disk_writes_completed_total"),
        iowait_seconds_total=cpu.get("iowait"),
        cpu_seconds_total=sum(cpu.values()) if cpu else None,
        idle_seconds_total=cpu.get("idle"),
        mem_available_bytes=gauges.get("node_memory_MemAvailable_bytes"),
        mem_total_bytes=gauges.get("node_memory_MemTotal_bytes"),
        fs_avail_bytes=mount.get("node_filesystem_avail_bytes"),
        fs_size_bytes=mount.get("node_filesystem_size_bytes"),
        pg_up=gauges.get("pg_up"),
        connections=read_connections(connections),
        auth_refused=tuple(sorted(read_refused(auth).items())) if auth else None,
        swap_used_bytes=_swap_used(gauges),
    )
    return sample, disks, exposition.skipped_lines


def _swap_used(gauges: dict[str, float]) -> float | None:
    """Swap in use from a scrape's gauges; None without both figures."""
    total = gauges.get("node_memory_SwapTotal_bytes")
    free = gauges.get("node_memory_SwapFree_bytes")
    return None if total is None or free is None else max(0.0, total - free)


def host_of(exposition: Exposition, at: datetime) -> HostSample:
    """Memory, swap and CPU in read samples (fields the scrape lacks stay None)."""
    values: dict[str, float] = {}
    total = busy = 0.0
    cpus: set[str] = set()
    for name, labels, value in exposition.series:
        field_name = HOST_GAUGES.get(name)
        if field_name is not None:
            values[field_name] = value
        elif name == "node_cpu_seconds_total":
            cpus.add(labels.get("cpu", ""))
            total += value
            if labels.get("mode", "") not in CPU_IDLE_MODES:
                busy += value
    return HostSample(
        at=at,
        mem_total_bytes=values.get("mem_total_bytes"),
        mem_available_bytes=values.get("mem_available_bytes"),
        swap_total_bytes=values.get("swap_total_bytes"),
        swap_free_bytes=values.get("swap_free_bytes"),
        swap_in_pages_total=values.get("swap_in_pages_total"),
        swap_out_pages_total=values.get("swap_out_pages_total"),
        major_faults_total=values.get("major_faults_total"),
        oom_kills_total=values.get("oom_kills_total"),
        cpu_seconds_total=total if cpus else None,
        cpu_busy_seconds_total=busy if cpus else None,
        cpus=len(cpus),
    )


def _complete_disks(
    by_device: dict[str, dict[str, float]], *, strict: bool = True
) -> tuple[str, ...]:
    """The disks with every disk series, sorted; PayloadError when there is none (strict)."""
    complete = tuple(
        sorted(d for d, v in by_device.items() if all(name in v for name in DISK_SERIES))
    )
    if not complete and strict:
        if not by_device:
            raise PayloadError("no disk series (node_disk_read_bytes_total...) in the payload")
        missing = sorted({n for v in by_device.values() for n in DISK_SERIES if n not in v})
        raise PayloadError(f"disk series missing: {', '.join(missing)}")
    return complete


@dataclass(frozen=True)
class _Scrape:
    outcome: Outcome
    detail: str
    status_code: int | None = None
    sample: IoSample | None = None
    skipped_lines: int = 0
    host: HostSample | None = None


class MetricsProbe:
    """Scrapes ``/customer/v1/privileged/metrics`` with the service key (HTTP basic auth)."""

    kind = ProbeKind.METRICS

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx
        self.url = ctx.project.base_url + METRICS_PATH
        self.timeout_s = timeout_s(ctx, SPEC)
        key = ctx.project.service_key
        self._auth = None if key is None else httpx.BasicAuth(USERNAME, key.get_secret_value())

    async def run(self) -> ProbeResult:
        """Scrape once."""
        at = self.ctx.clock.now()
        started = self.ctx.clock.monotonic()
        result = await self._scrape(at)
        duration = self.ctx.clock.monotonic() - started
        if result.skipped_lines:
            log.warning(
                "metrics lines skipped", project=self.ctx.project.ref, lines=result.skipped_lines
            )
        log.debug("metrics scraped", project=self.ctx.project.ref, outcome=str(result.outcome))
        return ProbeResult(
            project=self.ctx.project.ref,
            probe=self.kind,
            outcome=result.outcome,
            at=at,
            duration_s=duration,
            detail=result.detail,
            status_code=result.status_code,
            sample=result.sample,
            skipped_lines=result.skipped_lines,
            host=result.host,
        )

    async def _scrape(self, at: datetime) -> _Scrape:
        if self._auth is None:
            return _Scrape(Outcome.FAIL, "no service key configured")
        try:
            response = await self.ctx.http.get(
                self.url,
                auth=self._auth,
                timeout=self.timeout_s,
                headers={"Accept": "text/plain"},
            )
        except httpx.HTTPError as exc:  # the rules every HTTP probe follows (probes._common)
            return _Scrape(*http_error_outcome(exc))
        code = response.status_code
        failed = status_outcome(code)
        if failed is not None:
            return _Scrape(*failed, code)
        try:
            exposition = _exposition(response)
            sample, disks, skipped = sample_of(exposition, at)
        except PayloadError as exc:
            return _Scrape(Outcome.FAIL, str(exc), code)
        detail = f"disks {', '.join(disks)}"
        if not all(is_whole_disk(d) for d in disks):
            detail = (
                f"devices {', '.join(disks)} summed: no device label names a whole disk,"
                " so every device present is counted (a partition may count twice)"
            )
            log.warning("metrics devices summed", project=self.ctx.project.ref, devices=disks)
        if skipped:
            detail += f"; {skipped} unreadable lines left out"
        return _Scrape(Outcome.OK, detail, code, sample, skipped, host_of(exposition, at))

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared and owned by the app."""


# The endpoint updates once a minute.
SPEC = REGISTRY[ProbeKind.METRICS]
