"""Project endpoints (REST, auth health, metrics) and the status page of the simulator."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    UntypedMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sbwatch.sim.auth_limits import AuthLimits
from sbwatch.sim.model import DATA_DEVICE, FAIL_LATENCY_S, ROOT_DEVICE, Reading
from sbwatch.sim.pools import REFUSED, REST_POOL, Pools
from sbwatch.sim.world import SimProject, SimWorld

ROOT_BYTES = 4 * 1024**3
NOTICEABLE_S = 0.1
"""A delay shorter than this is not served (a replay's clock then stays on its grid)."""
COMPONENTS = ("Database", "REST API", "Auth", "Storage", "Realtime", "Edge Functions", "Dashboard")
_COMPONENT_STATUS = {
    "none": "operational",
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}
_DESCRIPTION = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}


def _error(status: int, message: str) -> DocumentResponse:
    return DocumentResponse({"message": message}, status_code=status)


def restriction(over: str) -> str:
    """The body of a restricted organization's 402: what it is over, and what lifts it."""
    what = over.replace("_", " ")
    return (
        f"Service for this project is restricted: the organization exceeded its {what} quota "
        "for the billing period. Restrictions lift at the next billing cycle, on a plan "
        "upgrade, or with the spend cap off."
    )


def _unavailable(world: SimWorld, ref: str) -> Response | None:
    """The answer when the project cannot serve at all (outage, unknown, paused, resizing)."""
    world.sync(ref)
    if world.platform_outage:
        return _error(503, "Service Unavailable")
    project = world.projects.get(ref)
    if project is None:
        return _error(404, "Project not found")
    if world.restricted_by is not None:
        return _error(402, restriction(world.restricted_by))
    if project.paused:
        return _error(540, "Project paused")
    if project.resizing:
        return _error(503, "Service Unavailable: the project is resizing")
    if project.host.down(world.clock.monotonic()):
        return _error(503, "Service Unavailable")  # the machine reboots after an OOM
    return None


async def _slow(world: SimWorld, project: SimProject, service: str) -> Response | None:
    """Wait as long as the disks' queue makes ``service`` take; past ~20 s, the edge gives up.

    A request that would take FAIL_LATENCY_S or more is answered 522 after 20 s (the edge's
    origin timeout) or 544 at once (the gateway's), half and half.
    """
    latency = project.model.latency_s(service)
    if latency >= FAIL_LATENCY_S:
        if world.rng.random() < 0.5:
            await world.clock.sleep(FAIL_LATENCY_S)
            return Response("error code: 522", status_code=522, media_type="text/plain")
        return Response("error code: 544", status_code=544, media_type="text/plain")
    if latency >= NOTICEABLE_S:
        await world.clock.sleep(latency)
    return None


def _no_slot() -> Response:
    """PostgREST's answer while Postgres has no slot left for its pool."""
    return DocumentResponse(
        {
            "code": "PGRST000",
            "message": "Database connection error. Retrying the connection.",
            "details": f"connection to server failed: FATAL: {REFUSED}",
            "hint": None,
        },
        status_code=503,
    )


def _key_problem(request: Request, service_key: str) -> Response | None:
    key = request.headers.get("apikey")
    if key is None:
        bearer = request.headers.get("authorization", "")
        key = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
    if key is None:
        return _error(401, "No API key found in request")
    if key != service_key:
        return _error(401, "Invalid API key")
    return None


def project_routes(world: SimWorld, service_key: str) -> list[Route]:
    """Routes under /p/{ref}: REST root, auth health and the privileged metrics endpoint."""
    labelled: dict[str, LabelSets] = {}  # each project's label sets, shared by its scrapes

    async def rest(request: Request) -> Response:
        ref = request.path_params["ref"]
        problem = _unavailable(world, ref) or _key_problem(request, service_key)
        if problem is not None:
            return problem
        project = world.projects[ref]
        if "rest" in project.faults or "db" in project.faults:
            return _error(503, "Service Unavailable")
        if project.pools.full:
            return _no_slot()
        slow = await _slow(world, project, "rest")
        if slow is not None:
            return slow
        return DocumentResponse(
            {"swagger": "2.0", "info": {"title": "PostgREST API", "version": "12.2.3"}, "paths": {}}
        )

    async def auth_health(request: Request) -> Response:
        ref = request.path_params["ref"]
        problem = _unavailable(world, ref) or _key_problem(request, service_key)
        if problem is not None:
            return problem
        project = world.projects[ref]
        if "auth" in project.faults:
            return _error(503, "Service Unavailable")
        slow = await _slow(world, project, "auth")
        if slow is not None:
            return slow
        return DocumentResponse(
            {
                "version": "v2.170.0",
                "name": "GoTrue",
                "description": "GoTrue is a user registration and authentication API",
            }
        )

    async def metrics(request: Request) -> Response:
        ref = request.path_params["ref"]
        problem = _unavailable(world, ref)
        if problem is not None:
            return problem
        if not _basic_ok(request.headers.get("authorization", ""), service_key):
            return Response(
                "Unauthorized",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="metrics"'},
            )
        families = list(ProjectCollector(world.projects[ref]).collect())
        return ExpositionResponse(families, known=labelled.setdefault(ref, {}))

    return [
        Route("/p/{ref}/rest/v1/", rest, methods=["GET", "HEAD"]),
        Route("/p/{ref}/auth/v1/health", auth_health, methods=["GET"]),
        Route("/p/{ref}/customer/v1/privileged/metrics", metrics, methods=["GET"]),
    ]


def _basic_ok(header: str, service_key: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return decoded == f"service_role:{service_key}"


class DocumentResponse(JSONResponse):
    """JSON of ``document``, written when it is served over HTTP.

    The replay's in-process client hands ``document`` over instead (sim/direct.py): the text
    is written only if a probe reads the body as text.
    """

    def __init__(
        self, document: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(None, status_code, headers)
        self.document = document
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-length"]

    def render(self, content: Any) -> bytes:
        """Nothing yet: the body is written when served."""
        return b""

    def written(self) -> bytes:
        """The document's JSON, as Starlette's JSONResponse writes it."""
        return super().render(self.document)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Write the JSON, then serve it."""
        self.body = self.written()
        self.raw_headers.append((b"content-length", str(len(self.body)).encode()))
        await super().__call__(scope, receive, send)


class ExpositionResponse(Response):
    """Prometheus text of ``families``, written when it is served over HTTP.

    ``samples`` holds what the text says as (name, labels, value): the replay's in-process
    client hands them over instead (sim/direct.py), and the text is never written there.
    """

    def __init__(self, families: list[_Family], *, known: LabelSets | None = None) -> None:
        """``known``: label sets met before, each dict reused for the same label values (the
        readers never change them); a scrape's series carry the same labels every time."""
        super().__init__(media_type=CONTENT_TYPE_LATEST)
        self._families = families
        known = {} if known is None else known
        self.samples = [sample for family in families for sample in family.series(known)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Write the text, then serve it."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Written(self._families))
        self.body = generate_latest(registry)
        self.init_headers()
        await super().__call__(scope, receive, send)


class _Written:
    def __init__(self, families: list[_Family]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return (family.metric() for family in self._families)


Series = tuple[str, dict[str, str], float]
LabelSets = dict[tuple[Any, ...], dict[str, str]]
"""Label dicts by their names (a tuple) and values, made once each."""


class _Family:
    """One metric family as the collector builds it, its samples kept as plain values.

    Made into prometheus_client's family only when the text is written; the replay's fast
    path reads ``series`` instead, the very samples that family holds (a counter's named
    ``_total``), without building its objects at every scrape.
    """

    __slots__ = ("documentation", "kind", "labelnames", "name", "rows")

    def __init__(self, kind: str, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labels)
        self.rows: list[tuple[Sequence[str], float]] = []

    @classmethod
    def counter(cls, name: str, documentation: str, *, labels: Sequence[str]) -> _Family:
        """A counter (prometheus_client takes a trailing ``_total`` off its name)."""
        return cls("counter", name.removesuffix("_total"), documentation, labels)

    @classmethod
    def gauge(cls, name: str, documentation: str, *, labels: Sequence[str]) -> _Family:
        """A gauge."""
        return cls("gauge", name, documentation, labels)

    @classmethod
    def untyped(cls, name: str, documentation: str, *, labels: Sequence[str]) -> _Family:
        """A family of no type."""
        return cls("untyped", name, documentation, labels)

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        """One sample: its label values, in the order of the family's label names."""
        self.rows.append((labels, value))

    def series(self, known: LabelSets) -> list[Series]:
        """The samples as (name, labels, value), as prometheus_client's family holds them;
        a label dict already in ``known`` is reused, a new one kept there."""
        name = f"{self.name}_total" if self.kind == "counter" else self.name
        names = self.labelnames
        out: list[Series] = []
        for labels, value in self.rows:
            key = (names, *labels)
            found = known.get(key)
            if found is None:
                found = known[key] = dict(zip(names, labels, strict=False))
            out.append((name, found, float(value)))
        return out

    def metric(self) -> Metric:
        """prometheus_client's family, for the text."""
        made: CounterMetricFamily | GaugeMetricFamily | UntypedMetricFamily = _MADE[self.kind](
            self.name, self.documentation, labels=self.labelnames
        )
        for labels, value in self.rows:
            made.add_metric(labels, value)
        return made


_MADE: dict[str, Any] = {
    "counter": CounterMetricFamily,
    "gauge": GaugeMetricFamily,
    "untyped": UntypedMetricFamily,
}


class ProjectCollector:
    """A Prometheus collector exposing one simulated project as the provider's endpoint does.

    Values are the model's reading at the last whole minute (the endpoint updates once a
    minute), both disks listed, labelled like the real exposition: ``supabase_project_ref``,
    ``supabase_identifier`` and ``service_type``.
    """

    def __init__(self, project: SimProject) -> None:
        self._project = project

    def _labels(self, service_type: str = "db") -> tuple[list[str], list[str]]:
        ref = self._project.ref
        return (
            ["supabase_project_ref", "supabase_identifier", "service_type"],
            [ref, ref, service_type],
        )

    def collect(self) -> Iterator[_Family]:
        """Every family the provider's endpoint shows that sbwatch reads."""
        reading = self._project.model.published
        labels, ids = self._labels()
        disk = (
            ("node_disk_read_bytes", "bytes read successfully", "read_bytes"),
            ("node_disk_written_bytes", "bytes written successfully", "written_bytes"),
            ("node_disk_reads_completed", "reads completed successfully", "reads_completed"),
            ("node_disk_writes_completed", "writes completed successfully", "writes_completed"),
            ("node_disk_io_time_seconds", "seconds spent doing I/Os", "io_time_seconds"),
        )
        for name, help_text, field_name in disk:
            family = _Family.counter(
                name, f"The total number of {help_text}.", labels=[*labels, "device"]
            )
            for device in (ROOT_DEVICE, DATA_DEVICE):
                value = getattr(reading.disks[device], field_name)
                family.add_metric([*ids, device], float(value))
            yield family
        io_now = _Family.gauge(
            "node_disk_io_now",
            "The number of I/Os currently in progress.",
            labels=[*labels, "device"],
        )
        for device in (ROOT_DEVICE, DATA_DEVICE):
            io_now.add_metric([*ids, device], reading.io_now[device])
        yield io_now
        yield self._cpu(reading, labels, ids)
        space = self._project.space
        data = (space.size_bytes, space.size_bytes - space.used_bytes)
        yield from self._memory_and_fs(reading, labels, ids, data)
        yield from self._host(labels, ids)
        pg_labels, pg_ids = self._labels("postgresql")
        pg_up = _Family.gauge(
            "pg_up",
            "Whether the last scrape of metrics from PostgreSQL was able to connect.",
            labels=pg_labels,
        )
        pg_up.add_metric(pg_ids, 0.0 if "db" in self._project.faults else 1.0)
        yield pg_up
        yield from _connections(self._project.pools, pg_labels, pg_ids, self._labels("postgrest"))
        yield _auth_codes(self._project.auth, *self._labels("gotrue"))

    @staticmethod
    def _cpu(reading: Reading, labels: list[str], ids: list[str]) -> _Family:
        family = _Family.counter(
            "node_cpu_seconds",
            "Seconds the CPUs spent in each mode.",
            labels=[*labels, "cpu", "mode"],
        )
        cpu = reading.cpu
        modes = {"user": cpu.user, "system": cpu.system, "iowait": cpu.iowait, "idle": cpu.idle}
        for index in range(reading.cpus):
            for mode, total in modes.items():
                family.add_metric([*ids, str(index), mode], total / reading.cpus)
        return family

    def _memory_and_fs(
        self, reading: Reading, labels: list[str], ids: list[str], data_fs: tuple[float, float]
    ) -> Iterator[_Family]:
        """Memory and swap (sim/host.py), and the filesystems: the root's fixed, ``/data`` as
        (size, available)."""
        host = self._project.host
        for name, value in (
            ("node_memory_MemTotal_bytes", host.memory_bytes),
            ("node_memory_MemAvailable_bytes", host.available_bytes),
            ("node_memory_SwapTotal_bytes", host.swap_free_bytes + host.swap_bytes),
            ("node_memory_SwapFree_bytes", host.swap_free_bytes),
        ):
            family = _Family.gauge(name, f"Memory information field {name[12:]}.", labels=labels)
            family.add_metric(ids, value)
            yield family
        fs_labels = [*labels, "device", "device_error", "fstype", "mountpoint"]
        for name, fraction, data_bytes in (
            ("node_filesystem_size_bytes", 1.0, data_fs[0]),
            ("node_filesystem_avail_bytes", 0.7, data_fs[1]),
        ):
            family = _Family.gauge(name, "Filesystem space in bytes.", labels=fs_labels)
            root = [*ids, f"/dev/{ROOT_DEVICE}p2", "", "ext4", "/"]
            family.add_metric(root, ROOT_BYTES * fraction)
            data = [*ids, f"/dev/{DATA_DEVICE}", "", "ext4", "/data"]
            family.add_metric(data, data_bytes)
            yield family

    def _host(self, labels: list[str], ids: list[str]) -> Iterator[_Family]:
        """The kernel's counters of swap traffic, major faults and OOM kills (since the boot)."""
        host = self._project.host
        for name, value in (
            ("node_vmstat_pswpin", host.swap_in_pages),
            ("node_vmstat_pswpout", host.swap_out_pages),
            ("node_vmstat_pgmajfault", host.major_faults),
            ("node_vmstat_oom_kill", host.oom_kills),
        ):
            family = _Family.untyped(name, f"/proc/vmstat information field {name[12:]}.",
                                         labels=labels)  # fmt: skip
            family.add_metric(ids, value)
            yield family


def _connections(
    pools: Pools,
    labels: list[str],
    ids: list[str],
    rest: tuple[list[str], list[str]],
) -> Iterator[_Family]:
    """Postgres's connections (per username, and its max) and PostgREST's pool."""
    used = {user: float(math.floor(n + 1e-9)) for user, n in pools.by_user().items()}
    labels, ids = [*labels, "server"], [*ids, "localhost:5432"]  # as the provider labels them
    family = _Family.gauge(
        "max_connections_connection_count", "Maximum allowed connections", labels=labels
    )
    family.add_metric(ids, float(pools.max_connections))
    yield family
    family = _Family.gauge(
        "connection_stats_connection_count",
        "Number of active connections",
        labels=[*labels, "username"],
    )
    for user, count in used.items():
        family.add_metric([*ids, user], count)
    yield family
    family = _Family.gauge(
        "pg_stat_database_num_backends", "The number of active backends", labels=labels
    )
    family.add_metric(ids, sum(used.values()))
    yield family
    rest_labels, rest_ids = rest
    waiting, available = (4.0, 0.0) if pools.full else (0.0, REST_POOL - 1.0)
    for name, help_text, value in (
        ("pgrst_db_pool_max", "Max pool connections", float(REST_POOL)),
        ("pgrst_db_pool_available", "Available connections in the pool", available),
        ("pgrst_db_pool_waiting", "Requests waiting to acquire a pool connection", waiting),
    ):
        gauge = _Family.gauge(name, help_text, labels=rest_labels)
        gauge.add_metric(rest_ids, value)
        yield gauge
    counter = _Family.counter(
        "pgrst_db_pool_timeouts",
        "The total number of pool connection timeouts",
        labels=rest_labels,
    )
    counter.add_metric(rest_ids, float(math.floor(pools.rest_timeouts)))
    yield counter


def _auth_codes(auth: AuthLimits, labels: list[str], ids: list[str]) -> _Family:
    """GoTrue's status codes: 200 on /health always, 429 on each route it refuses."""
    counter = _Family.counter(
        "http_status_codes",
        "Number of returned HTTP status codes",
        labels=[*labels, "code", "http_route", "otel_scope_name", "otel_scope_version"],
    )
    scope = ["gotrue", ""]  # as the provider labels them
    counter.add_metric([*ids, "200", "/health", *scope], float(math.floor(auth.health_total)))
    for route, total in sorted(auth.refused_total.items()):
        counter.add_metric([*ids, "429", route, *scope], float(math.floor(total + 1e-9)))
    return counter


def status_routes(world: SimWorld) -> list[Route]:
    """statuspage.io-shaped status.json and summary.json, following the status_page events."""

    async def status(request: Request) -> Response:
        return DocumentResponse({"page": _page(), "status": _indicator(world)})

    async def summary(request: Request) -> Response:
        return DocumentResponse(summary_document(world))

    return [
        Route("/status/api/v2/status.json", status, methods=["GET"]),
        Route("/status/api/v2/summary.json", summary, methods=["GET"]),
    ]


def _page() -> dict[str, Any]:
    return {
        "id": "simstatuspage",
        "name": "Supabase",
        "url": "https://status.supabase.com",
        "time_zone": "Etc/UTC",
        "updated_at": "2026-05-20T00:00:00.000Z",
    }


def _indicator(world: SimWorld) -> dict[str, str]:
    return {
        "indicator": world.status_indicator,
        "description": _DESCRIPTION[world.status_indicator],
    }


def summary_document(world: SimWorld) -> dict[str, Any]:
    """The summary.json body: page, components, unresolved incidents and the indicator."""
    indicator = world.status_indicator
    affected = set(world.status_components or COMPONENTS) if indicator != "none" else set()
    components = [
        {
            "id": f"component{index}",
            "name": name,
            "status": _COMPONENT_STATUS[indicator] if name in affected else "operational",
            "position": index,
            "group": False,
            "only_show_if_degraded": False,
        }
        for index, name in enumerate(COMPONENTS, start=1)
    ]
    incidents = []
    if indicator != "none":
        incidents.append(
            {
                "id": "simincident1",
                "name": "Elevated error rates",
                "status": "investigating",
                "impact": indicator,
                "shortlink": "https://stspg.io/sim",
                "components": [c for c in components if c["name"] in affected],
                "incident_updates": [
                    {
                        "status": "investigating",
                        "body": "We are investigating elevated error rates.",
                    }
                ],
            }
        )
    return {
        "page": _page(),
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": [],
        "status": _indicator(world),
    }
