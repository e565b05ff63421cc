"""The Management API subset of the simulator, shaped like the provider's OpenAPI spec."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sbwatch.sim.auth_limits import auth_config_document
from sbwatch.sim.endpoints import DocumentResponse
from sbwatch.sim.hardware import MACHINES, Machine, by_variant, machine
from sbwatch.sim.scopes import NEEDS
from sbwatch.sim.world import SimWorld

if TYPE_CHECKING:
    from sbwatch.sim.app import RateLimiter

Handler = Callable[[Request], Awaitable[Response]]
HEALTH_SERVICES = (
    "auth",
    "db",
    "db_postgres_user",
    "pooler",
    "realtime",
    "rest",
    "storage",
    "pg_bouncer",
)
SLOW_S = 30.0
ADDONS = "/v1/projects/{ref}/billing/addons"
_CORE = {"db": "db", "db_postgres_user": "db", "pg_bouncer": "db", "pooler": "db", "rest": "rest"}
DEFAULT_HEALTH_TIMEOUT_MS = 5000


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> DocumentResponse:
    return DocumentResponse({"message": message}, status_code=status, headers=headers)


def _asked_size(body: bytes) -> str:
    """The size a PATCH body asks for ("?" when it names none the cloud has)."""
    try:
        target = by_variant(str(json.loads(body)["addon_variant"]))
    except (ValueError, KeyError, TypeError):
        return "?"
    return target.size if target is not None else "?"


def _guard(
    world: SimWorld,
    token: str,
    limiter: RateLimiter,
    handler: Handler,
    permission: str | None = None,
) -> Handler:
    """Outage, bearer auth, unknown project, a scoped token lacking ``permission``, rate limit
    and injected faults, then ``handler``.

    Every answer carries the ``X-RateLimit-*`` headers, as the provider's do (401, 404 and 503
    included): each request counts against the presented token's window.
    """

    async def guarded(request: Request) -> Response:
        ref: str | None = request.path_params.get("ref")  # None: the list of every project
        world.sync(ref)
        auth = request.headers.get("authorization", "")
        presented = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        allowed, headers = limiter.hit(presented, ref or "")
        if world.platform_outage:
            return _error(503, "Service Unavailable", headers)
        if presented != token:
            return _error(401, "Unauthorized", headers)
        if ref is not None and ref not in world.projects:
            return _error(404, f"Project {ref} not found", headers)
        if permission is not None and permission in world.token_lacks:
            body = {"message": "Forbidden resource", "missing_permissions": [permission]}
            return DocumentResponse(body, status_code=403, headers=headers)
        fault = world.mgmt_fault_for(request.method)
        if not allowed or fault == "rate_limit":
            headers["X-RateLimit-Remaining"] = "0"
            return _error(429, "Too many requests: rate limit exceeded", headers)
        if fault == "error":
            return _error(500, "Internal server error", headers)
        if fault == "slow":
            await request.body()  # read (and keep) it now: the sender may be gone in 30 s
            await world.clock.sleep(SLOW_S)
            world.sync(ref)
        response = await handler(request)
        changes = request.method in ("PATCH", "DELETE") or (
            request.method == "POST" and request.url.path.endswith("/config/disk")
        )
        if fault == "drop_after_apply" and changes:
            return _Dropped()
        response.headers.update(headers)
        return response

    return guarded


class _Dropped(Response):
    """A response that starts and never finishes: the server closes the connection mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the status line and a length, then return without the body."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


def _price(m: Machine) -> dict[str, Any]:
    return {
        "description": f"${m.hourly_usd}/hour (~${m.monthly_usd:.0f}/month)",
        "type": "usage",
        "interval": "hourly",
        "amount": m.hourly_usd,
    }


_CONNECTIONS = {
    # (direct, pooler) per size, as the provider's add-ons answer lists them
    "micro": (60, 200), "small": (90, 400), "medium": (120, 600), "large": (160, 800),
    "xl": (240, 1000), "2xl": (380, 1500), "4xl": (480, 3000), "8xl": (490, 6000),
}  # fmt: skip
_CLOUDS = ["AWS", "AWS_K8S", "AWS_NIMBUS", "FLY"]
_OTHER_ADDONS: list[dict[str, Any]] = [
    # (type, name, [(variant id, variant name, price amount, interval)]): the add-ons offered
    # beside compute, as the provider lists them
    {"type": "custom_domain", "name": "Custom Domain",
     "variants": [("cd_default", "Custom Domain", 10, "monthly")]},
    {"type": "pitr", "name": "Point-In-Time-Recovery",
     "variants": [(f"pitr_{d}", f"{d} days", 100 * d // 7, "monthly") for d in (7, 14, 28)]},
    {"type": "ipv4", "name": "IPv4", "variants": [("ipv4_default", "IPv4", 4, "monthly")]},
    {"type": "log_drain", "name": "Log Drain",
     "variants": [("log_drain_default", "Log Drain", 0.0822, "hourly")]},
]  # fmt: skip


def _variant(m: Machine) -> dict[str, Any]:
    direct, pooler = _CONNECTIONS.get(m.size, _CONNECTIONS["8xl"])
    clouds = _CLOUDS if m.burst_mbit < 9000 else _CLOUDS[:3]
    return {
        "id": m.variant,
        "name": m.label,
        "meta": {
            "cpu_cores": m.vcpus,
            "cpu_dedicated": m.instance.startswith("m6g"),
            "memory_gb": int(m.memory_gb),
            "baseline_disk_io_mbs": int(m.sustained_mbit),
            "max_disk_io_mbs": int(m.burst_mbit),
            "connections_direct": direct,
            "connections_pooler": pooler,
            "supported_cloud_providers": clouds,
        },
        "price": _price(m),
    }


def _other_addon(addon: dict[str, Any]) -> dict[str, Any]:
    variants = []
    for vid, name, amount, interval in addon["variants"]:
        month = amount * 730 if interval == "hourly" else amount
        price = {
            "description": f"${month:g}/month",
            "amount": amount,
            "interval": interval,
            "type": "usage" if interval == "hourly" else "fixed",
        }
        variants.append({"id": vid, "name": name, "price": price})
    return {"name": addon["name"], "type": addon["type"], "variants": variants}


def addons_document(world: SimWorld, ref: str) -> dict[str, Any]:
    """The ListProjectAddonsResponse of a project (the target size while resizing), shaped
    like the provider's: each compute variant with its ``meta``, other add-ons offered too."""
    project = world.projects[ref]
    current = machine(project.resize_to or project.tier)
    selected = []
    if current.variant is not None:
        selected.append({"type": "compute_instance", "variant": _variant(current)})
    return {"selected_addons": selected, "available_addons": list(_available_addons())}


@functools.cache
def _available_addons() -> tuple[dict[str, Any], ...]:
    """Every add-on offered, compute's variants among them: the same for every project, built
    once (the size check asks for the list every few minutes; readers never change it)."""
    variants = [_variant(m) for m in MACHINES if m.variant is not None]
    compute = {"name": "Compute Instance", "type": "compute_instance", "variants": variants}
    available = [_other_addon(_OTHER_ADDONS[0]), compute]
    available += [_other_addon(addon) for addon in _OTHER_ADDONS[1:]]
    return tuple(available)


def project_document(world: SimWorld, ref: str) -> dict[str, Any]:
    """The V1ProjectWithDatabaseResponse of a project."""
    project = world.projects[ref]
    return {
        "id": ref,
        "ref": ref,
        "organization_id": "simorganization",
        "organization_slug": "simorganization",
        "name": project.name,
        "region": project.region,
        "created_at": "2026-01-05T10:00:00.000Z",
        "status": world.status(ref),
        "database": {
            "host": f"db.{ref}.supabase.co",
            "version": "15.8.1.085",
            "postgres_engine": "15",
            "release_channel": "ga",
        },
    }


def health_document(
    world: SimWorld, ref: str, services: list[str], timeout_ms: int = DEFAULT_HEALTH_TIMEOUT_MS
) -> list[dict[str, Any]]:
    """One V1ServiceHealthResponse per asked service.

    A service slower than ``timeout_ms`` (the disks' queue) is UNHEALTHY, timed out; services
    that do not sit on the disks (realtime, storage) follow REST.
    """
    project = world.projects[ref]
    down = set(world.down(ref))
    answers = []
    for name in services:
        core = _CORE.get(name, name)
        disk_bound = core if core in ("db", "rest", "auth") else "rest"
        slow = project.model.latency_s(disk_bound) * 1000 > timeout_ms
        failing = project.model.failing(disk_bound)
        unhealthy = project.resizing or project.paused or core in down or slow or failing
        status = (
            "COMING_UP" if project.resizing else ("UNHEALTHY" if unhealthy else "ACTIVE_HEALTHY")
        )
        entry: dict[str, Any] = {
            "name": name,
            "healthy": status == "ACTIVE_HEALTHY",
            "status": status,
        }
        if status != "ACTIVE_HEALTHY":
            entry["error"] = "project is resizing" if project.resizing else "connection timed out"
        answers.append(entry)
    return answers


def _health_params(request: Request) -> tuple[list[str], int, str | None]:
    services, timeout_ms, problem = _health_query(request.scope["query_string"])
    return list(services), timeout_ms, problem


@functools.lru_cache(maxsize=64)
def _health_query(query: bytes) -> tuple[tuple[str, ...], int, str | None]:
    """The services and timeout a health query string asks for, or the problem with it
    (parsed once per distinct query string: a watcher asks the same every time).

    ``services`` is the spec's array, form style exploded: each name its own ``services=``; a
    comma-joined value is no name of the enum and is refused, as the provider refuses it.
    """
    params = QueryParams(query)
    services = tuple(params.getlist("services"))
    if not services:
        return (), 0, "services: required (one services= per name)"
    unknown = [name for name in services if name not in HEALTH_SERVICES]
    if unknown:
        return (
            (),
            0,
            f"services: each value must be one of {', '.join(HEALTH_SERVICES)}"
            + (f" (got {', '.join(repr(name) for name in unknown)})"),
        )
    timeout = params.get("timeout_ms")
    if timeout is not None and (not timeout.isdigit() or int(timeout) > 10_000):
        return (), 0, "timeout_ms: must be an integer from 0 to 10000"
    return services, DEFAULT_HEALTH_TIMEOUT_MS if timeout is None else int(timeout), None


ADDON_TYPES = (
    "custom_domain", "compute_instance", "pitr", "ipv4", "auth_mfa_phone", "auth_mfa_web_authn",
    "log_drain",
)  # fmt: skip
_ADDON_VARIANT = re.compile(
    r"ci_(micro|small|medium|large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge"
    r"|(24|48)xlarge(_optimized_cpu|_optimized_memory|_high_memory)?)"
    r"|cd_default|pitr_(7|14|28)|ipv4_default"
)


def _addon_problem(body: Any) -> str | None:
    """What the spec's ApplyProjectAddonBody refuses in ``body``, naming the field."""
    if not isinstance(body, dict):
        return "body: must be an object {addon_type, addon_variant}"
    for field in ("addon_type", "addon_variant"):
        if not isinstance(body.get(field), str):
            return f"{field}: required, a string"
    if body["addon_type"] not in ADDON_TYPES:
        return f"addon_type: must be one of {', '.join(ADDON_TYPES)}"
    if not _ADDON_VARIANT.fullmatch(body["addon_variant"]):
        return f"addon_variant: {body['addon_variant']!r} is no add-on variant"
    return None


DISK_TYPES = {"gp3": ("iops", "size_gb", "throughput_mibps"), "io2": ("iops", "size_gb")}


def _disk_problem(body: Any) -> str | None:
    """What the spec's DiskRequestBody refuses in ``body``, naming the field."""
    if not isinstance(body, dict) or not isinstance(body.get("attributes"), dict):
        return "attributes: required, an object {type, size_gb, iops[, throughput_mibps]}"
    attributes = body["attributes"]
    kind = attributes.get("type")
    if kind not in DISK_TYPES:
        return f"attributes.type: must be one of {', '.join(DISK_TYPES)}"
    allowed = DISK_TYPES[kind]
    unknown = sorted(set(attributes) - {"type", *allowed})
    if unknown:
        return f"attributes.{unknown[0]}: not a property of a {kind} disk"
    for key in allowed:
        value = attributes.get(key)
        if value is None and key == "throughput_mibps":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return f"attributes.{key}: required, a whole number above 0"
    return None


def disk_document(world: SimWorld, ref: str) -> dict[str, Any]:
    """The DiskResponse of a project."""
    space = world.projects[ref].space
    attributes: dict[str, Any] = {"type": space.kind, "size_gb": space.size_gb, "iops": space.iops}
    if space.kind == "gp3":
        attributes["throughput_mibps"] = space.throughput_mibps
    document: dict[str, Any] = {"attributes": attributes}
    modified = world.disk_modified_at(ref)
    if modified is not None:
        document["last_modified_at"] = modified.isoformat().replace("+00:00", "Z")
    return document


def disk_util_document(world: SimWorld, ref: str) -> dict[str, Any]:
    """The DiskUtilMetricsResponse of a project."""
    space = world.projects[ref].space
    size = float(space.size_bytes)
    used = float(round(space.used_bytes))
    return {
        "timestamp": world.clock.now().isoformat().replace("+00:00", "Z"),
        "metrics": {"fs_size_bytes": size, "fs_avail_bytes": size - used, "fs_used_bytes": used},
    }


def mgmt_routes(world: SimWorld, token: str, limiter: RateLimiter) -> list[Route]:
    """The /v1 routes the simulator serves."""

    async def list_projects(request: Request) -> Response:
        return DocumentResponse([project_document(world, ref) for ref in world.projects])

    async def get_project(request: Request) -> Response:
        return DocumentResponse(project_document(world, request.path_params["ref"]))

    async def health(request: Request) -> Response:
        services, timeout_ms, problem = _health_params(request)
        if problem:
            return _error(400, problem)
        ref = request.path_params["ref"]
        return DocumentResponse(health_document(world, ref, services, timeout_ms))

    async def list_addons(request: Request) -> Response:
        return DocumentResponse(addons_document(world, request.path_params["ref"]))

    async def apply_addon(request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "body: not JSON")
        problem = _addon_problem(body)
        if problem is not None:
            return _error(400, problem)
        kind, variant = body["addon_type"], body["addon_variant"]
        target = by_variant(variant) if kind == "compute_instance" else None
        if target is None:
            return _error(400, f"addon_variant: {kind}/{variant} is not offered for this project")
        if world.projects[ref].resizing:
            return _error(500, "Failed to apply project addon: a compute change is in progress")
        world.patch_calls += 1
        world.resize(ref, target.size)
        return Response(status_code=200)

    async def remove_addon(request: Request) -> Response:
        ref = request.path_params["ref"]
        project = world.projects[ref]
        variant = request.path_params["variant"]
        current = machine(project.resize_to or project.tier).variant
        if variant != current:
            return _error(400, f"add-on variant {variant} is not active on this project")
        if project.resizing:
            return _error(500, "Failed to remove project addon: a compute change is in progress")
        world.resize(ref, world.rollback_tier(ref), rollback=True)
        return Response(status_code=200)

    async def pause(request: Request) -> Response:
        return _error(403, "Pausing is not available for projects on a paid plan")

    async def restart(request: Request) -> Response:
        return _error(404, "Restarting a project is not available in the Management API")

    async def get_disk(request: Request) -> Response:
        return DocumentResponse(disk_document(world, request.path_params["ref"]))

    async def auth_config(request: Request) -> Response:
        return DocumentResponse(
            auth_config_document(world.projects[request.path_params["ref"]].auth)
        )

    async def disk_util(request: Request) -> Response:
        return DocumentResponse(disk_util_document(world, request.path_params["ref"]))

    async def modify_disk(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "body: not JSON")
        problem = _disk_problem(body)
        if problem is not None:
            return _error(400, problem)
        refused = world.set_disk(request.path_params["ref"], body["attributes"]["size_gb"])
        if refused is not None:
            return _error(400 if refused.startswith("size_gb") else 500, refused)
        return Response(status_code=201)

    def guard(handler: Handler, route: str = "", method: str = "GET") -> Handler:
        return _guard(world, token, limiter, handler, NEEDS.get((method, route)))

    async def count_patch(request: Request) -> Response:
        world.patch_attempts += 1
        world.attempted(request.path_params["ref"], _asked_size(await request.body()))
        return await guard(apply_addon, ADDONS, "PATCH")(request)

    def route(path: str, handler: Handler, method: str = "GET") -> Route:
        return Route(path, guard(handler, path, method), methods=[method])

    return [
        route("/v1/projects", list_projects),
        route("/v1/projects/{ref}", get_project),
        route("/v1/projects/{ref}/health", health),
        route(ADDONS, list_addons),
        Route(ADDONS, count_patch, methods=["PATCH"]),
        route("/v1/projects/{ref}/billing/addons/{variant}", remove_addon, "DELETE"),
        route("/v1/projects/{ref}/config/disk", get_disk),
        route("/v1/projects/{ref}/config/disk", modify_disk, "POST"),
        route("/v1/projects/{ref}/config/disk/util", disk_util),
        route("/v1/projects/{ref}/config/auth", auth_config),
        route("/v1/projects/{ref}/pause", pause, "POST"),
        route("/v1/projects/{ref}/restart", restart, "POST"),
    ]
