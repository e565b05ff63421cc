"""The wire contract: every request the Management API client sends and every answer the
simulator serves are what the provider's published OpenAPI document says, status codes
included; what the document refuses, the simulator refuses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI
from pydantic import SecretStr

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import ApiError, AuthRejected, ConfigError
from sbwatch.sim.app import create_app
from sbwatch.sim.scopes import PERMISSIONS
from sbwatch.sim.serve import load_sim_config
from sbwatch.sim.world import SimWorld
from sbwatch.supabase.mgmt_api import ManagementApi
from sbwatch.supabase.permissions import (
    AUTH_CONFIG,
    DISK,
    DISK_CHANGE,
    ESCALATION,
    MGMT_HEALTH,
    SIZE,
    check_token,
)

from .conftest import BEARER, KEY, REF, TOKEN, validate_request, validate_response

SUBSET = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "sim" / "openapi-subset.json"
FULL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "supabase-mgmt-openapi.json"
REAL = FULL.parent
SMALL = {"addon_type": "compute_instance", "addon_variant": "ci_small"}
GROW = {"attributes": {"type": "gp3", "size_gb": 12, "iops": 3000, "throughput_mibps": 125}}


def load(path: Path) -> OpenAPI:
    """An OpenAPI document; the published one fails the strict document check (vendor keys
    without the x- prefix), so only what it says of requests and answers is checked."""
    document = json.loads(path.read_text(encoding="utf-8"))
    # The disk body's discriminator names no mapping, and openapi-core then looks "gp3" up as a
    # schema name: the oneOf alone says the same (each branch's ``type`` is a one-value enum).
    del document["components"]["schemas"]["DiskRequestBody"]["properties"]["attributes"][
        "discriminator"
    ]
    config = Config(spec_validator_cls=None) if path == FULL else Config()
    return OpenAPI.from_dict(document, config=config)


@pytest.fixture(scope="module")
def full() -> OpenAPI:
    """The provider's published document, carried in tests/fixtures/real."""
    return load(FULL)


@pytest.fixture(scope="module", params=[FULL, SUBSET], ids=["full", "subset"])
def spec(request: pytest.FixtureRequest) -> OpenAPI:
    """The published document and the subset the package ships."""
    return load(request.param)


def recorded(name: str) -> dict[str, Any]:
    """A recorded interaction ({status, headers, body}), its '#' source lines taken off."""
    text = (REAL / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    document: dict[str, Any] = json.loads("\n".join(lines))
    return document


async def _exchange(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock, case: str
) -> httpx.Response:
    """One request per case, the world prepared for it."""
    projects = f"/v1/projects/{REF}"
    health = f"{projects}/health?services=db&services=rest&services=auth"
    if case.startswith("overloaded"):
        world.project(REF).model.set_demand(60, 0)
        clock.advance(3 * 3600)
    if case.endswith("error"):
        world.apply({"kind": "mgmt_api", "fault": "error"})
    if case.endswith("limited"):
        world.apply({"kind": "mgmt_api", "fault": "rate_limit"})
    if case.endswith("resizing"):
        await client.patch(f"{projects}/billing/addons", headers=BEARER, json=SMALL)
    if case == "disk-post-quota":
        space = world.project(REF).space
        space.changes.extend([clock.monotonic()] * 4)
    query = {"query": "select 1 as one", "parameters": []}
    method, path, body = {
        "projects": ("GET", "/v1/projects", None),
        "projects-unauthorized": ("GET", "/v1/projects", None),
        "project": ("GET", projects, None),
        "project-resizing": ("GET", projects, None),
        "project-unauthorized": ("GET", projects, None),
        "project-error": ("GET", projects, None),
        "health": ("GET", f"{health}&services=storage", None),
        "health-resizing": ("GET", health, None),
        "health-unauthorized": ("GET", health, None),
        "overloaded-health": ("GET", f"{health}&timeout_ms=5000", None),
        "health-limited": ("GET", f"{projects}/health?services=db", None),
        "addons": ("GET", f"{projects}/billing/addons", None),
        "addons-resizing": ("GET", f"{projects}/billing/addons", None),
        "addons-error": ("GET", f"{projects}/billing/addons", None),
        "patch": ("PATCH", f"{projects}/billing/addons", SMALL),
        "patch-resizing": ("PATCH", f"{projects}/billing/addons", SMALL),
        "patch-error": ("PATCH", f"{projects}/billing/addons", SMALL),
        "patch-limited": ("PATCH", f"{projects}/billing/addons", SMALL),
        "delete": ("DELETE", f"{projects}/billing/addons/ci_micro", None),
        "delete-error": ("DELETE", f"{projects}/billing/addons/ci_micro", None),
        "disk": ("GET", f"{projects}/config/disk", None),
        "disk-error": ("GET", f"{projects}/config/disk", None),
        "disk-util": ("GET", f"{projects}/config/disk/util", None),
        "auth-config": ("GET", f"{projects}/config/auth", None),
        "auth-config-unauthorized": ("GET", f"{projects}/config/auth", None),
        "auth-config-limited": ("GET", f"{projects}/config/auth", None),
        "disk-util-limited": ("GET", f"{projects}/config/disk/util", None),
        "disk-post": ("POST", f"{projects}/config/disk", GROW),
        "disk-post-quota": ("POST", f"{projects}/config/disk", GROW),
        "disk-post-unauthorized": ("POST", f"{projects}/config/disk", GROW),
        "pause": ("POST", f"{projects}/pause", None),
        "pause-limited": ("POST", f"{projects}/pause", None),
        "query-unauthorized": ("POST", f"{projects}/database/query", query),
        "query-limited": ("POST", f"{projects}/database/query", query),
        "read-only-unauthorized": ("POST", f"{projects}/database/query/read-only", query),
        "read-only-limited": ("POST", f"{projects}/database/query/read-only", query),
    }[case]
    headers = {} if case.endswith("unauthorized") else BEARER
    return await client.request(method, path, headers=headers, json=body)


CASES = [
    ("projects", 200), ("projects-unauthorized", 401),
    ("project", 200), ("project-resizing", 200), ("project-unauthorized", 401),
    ("project-error", 500),
    ("health", 200), ("health-resizing", 200), ("health-unauthorized", 401),
    ("overloaded-health", 200), ("health-limited", 429),
    ("addons", 200), ("addons-resizing", 200), ("addons-error", 500),
    ("patch", 200), ("patch-resizing", 500), ("patch-error", 500), ("patch-limited", 429),
    ("delete", 200), ("delete-error", 500), ("pause", 403), ("pause-limited", 429),
    ("disk", 200), ("disk-error", 500), ("disk-util", 200), ("disk-util-limited", 429),
    ("auth-config", 200), ("auth-config-unauthorized", 401), ("auth-config-limited", 429),
    ("disk-post", 201), ("disk-post-quota", 500), ("disk-post-unauthorized", 401),
    ("query-unauthorized", 401), ("query-limited", 429),
    ("read-only-unauthorized", 401), ("read-only-limited", 429),
]  # fmt: skip


@pytest.mark.parametrize(("case", "status"), CASES)
async def test_response_matches_spec(
    spec: OpenAPI,
    client: httpx.AsyncClient,
    world: SimWorld,
    clock: VirtualClock,
    case: str,
    status: int,
) -> None:
    """Each route's answer (its status among those the spec lists for it, its body of the
    listed schema) matches the spec, and carries the X-RateLimit-* headers."""
    response = await _exchange(client, world, clock, case)
    assert status == response.status_code
    validate_response(spec, response)
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
        response.headers
    )


async def test_validation_catches_a_wrong_answer(spec: OpenAPI, client: httpx.AsyncClient) -> None:
    """The validator is not vacuous: a status outside the enum is rejected, and so is an
    answer code the spec does not list for the operation."""
    response = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    body = response.json() | {"status": "SLEEPY"}
    forged = httpx.Response(200, json=body, request=response.request)
    with pytest.raises(Exception, match=r"SLEEPY|status|valid"):
        validate_response(spec, forged)
    with pytest.raises(Exception, match=r"418|[Rr]esponse"):
        validate_response(spec, httpx.Response(418, json={}, request=response.request))


class SpecCheckedTransport(httpx.AsyncBaseTransport):
    """The simulator app behind a transport that checks each request and its answer against
    the published spec, and keeps the operations seen."""

    def __init__(self, spec: OpenAPI, app: Any) -> None:
        self._spec = spec
        self._inner = httpx.ASGITransport(app=app)
        self.seen: list[tuple[str, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check the request, forward it, check the answer."""
        await request.aread()
        validate_request(self._spec, request)
        response = await self._inner.handle_async_request(request)
        await response.aread()
        validate_response(self._spec, httpx.Response(
            response.status_code, headers=response.headers, content=response.content,
            request=request,
        ))  # fmt: skip
        self.seen.append((request.method, request.url.path, response.status_code))
        return response


@pytest.fixture
async def checked(
    full: OpenAPI, world: SimWorld, clock: VirtualClock
) -> AsyncIterator[tuple[ManagementApi, SpecCheckedTransport]]:
    """The real Management API client of the simulator, every exchange checked by the spec."""
    transport = SpecCheckedTransport(full, create_app(world, token=TOKEN, service_key=KEY))
    async with httpx.AsyncClient(transport=transport) as http:
        yield ManagementApi(http, "http://sim.test", SecretStr(TOKEN), clock=clock), transport


async def test_every_client_request_matches_the_spec(
    checked: tuple[ManagementApi, SpecCheckedTransport], clock: VirtualClock
) -> None:
    """Each call of the client sends what the spec declares (the health call's services one
    ``services=`` each, form style exploded) and gets an answer the spec declares."""
    api, transport = checked
    assert [REF] == [p.ref for p in await api.list_projects()]
    assert REF == (await api.get_project(REF)).ref
    names = [s.name for s in await api.health(REF, ("db", "rest", "auth", "storage"), 2000)]
    assert ["db", "rest", "auth", "storage"] == names
    assert "ci_micro" == (await api.get_addons(REF)).compute_variant
    await api.set_compute(REF, "ci_small")
    disk = await api.get_disk(REF)
    assert (8, None) == (disk.size_gb, disk.last_modified_at)
    await api.set_disk(REF, disk.attributes(12))
    assert (12, clock.now()) == ((after := await api.get_disk(REF)).size_gb, after.last_modified_at)
    util = await api.get_disk_util(REF)
    assert 12 * 1024**3 == util.size_bytes == util.avail_bytes + util.used_bytes
    clock.advance(600)
    await api.remove_addon(REF, "ci_small")
    for read_only in (False, True):
        with pytest.raises(ApiError, match="HTTP 500"):  # this simulated project has no database
            await api.run_query(REF, "select 1", read_only=read_only)
    operations = {(method, path) for method, path, _ in transport.seen}
    base = f"/v1/projects/{REF}"
    assert {
        ("GET", "/v1/projects"),
        ("GET", base),
        ("GET", f"{base}/health"),
        ("GET", f"{base}/billing/addons"),
        ("PATCH", f"{base}/billing/addons"),
        ("DELETE", f"{base}/billing/addons/ci_small"),
        ("POST", f"{base}/database/query"),
        ("GET", f"{base}/config/disk"),
        ("POST", f"{base}/config/disk"),
        ("GET", f"{base}/config/disk/util"),
    } == operations


REFUSED = [
    ("GET", "/health?services=db,rest,auth", None, "services"),
    ("GET", "/health?services=db&services=nope", None, "services"),
    ("GET", "/health", None, "services"),
    ("GET", "/health?services=db&timeout_ms=10001", None, "timeout_ms"),
    ("PATCH", "/billing/addons", {"addon_type": "compute_instance"}, "addon_variant"),
    ("PATCH", "/billing/addons", {"addon_type": "compute", "addon_variant": "ci_small"},
     "addon_type"),
    ("PATCH", "/billing/addons", {"addon_type": "compute_instance", "addon_variant": "ci_nano"},
     "addon_variant"),
    ("POST", "/database/query", {"query": ""}, "query"),
    ("POST", "/database/query", {"read_only": True}, "query"),
    ("POST", "/database/query", {"query": "select $1", "parameters": "1"}, "parameters"),
    ("POST", "/database/query", {"query": "select 1", "read_only": "yes"}, "read_only"),
    ("POST", "/database/query/read-only", {"query": ""}, "query"),
    ("POST", "/config/disk", {"size_gb": 12}, "attributes"),
    # the oneOf of disk attributes: the validator names the object, the simulator its field too
    ("POST", "/config/disk", {"attributes": {"type": "gp2", "size_gb": 12, "iops": 3000}},
     "attributes"),
    ("POST", "/config/disk", {"attributes": {"type": "gp3", "iops": 3000}}, "attributes"),
    ("POST", "/config/disk", {"attributes": {"type": "gp3", "size_gb": 0, "iops": 3000}},
     "attributes"),
    ("POST", "/config/disk", {"attributes": {"type": "io2", "size_gb": 12}}, "attributes"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "tail", "body", "field"), REFUSED)
async def test_the_simulator_refuses_what_the_spec_refuses(
    full: OpenAPI,
    client: httpx.AsyncClient,
    method: str,
    tail: str,
    body: Any,
    field: str,
) -> None:
    """A request the published spec refuses (a comma-joined array among them) is refused by
    the simulator too, with a 400 naming the field: it can never hide a client's mistake."""
    response = await client.request(method, f"/v1/projects/{REF}{tail}", headers=BEARER, json=body)
    with pytest.raises(Exception, match=field):
        validate_request(full, response.request)
    assert 400 == response.status_code
    assert field in response.json()["message"]


@pytest.mark.parametrize("kind", ["unauthorized", "unknown project", "outage"])
async def test_every_answer_carries_the_rate_limit_headers(
    client: httpx.AsyncClient, world: SimWorld, kind: str
) -> None:
    """401, 404 and 503 carry X-RateLimit-* as the provider's answers do."""
    path, headers = f"/v1/projects/{REF}", BEARER
    if kind == "unauthorized":
        headers = {"Authorization": "Bearer sbp_" + "0" * 40}
    if kind == "unknown project":
        path = "/v1/projects/zzzzzzzzzzzzzzzzzzzz"
    if kind == "outage":
        world.apply({"kind": "platform_outage", "on": True})
    response = await client.get(path, headers=headers)
    expected = {"unauthorized": 401, "unknown project": 404, "outage": 503}[kind]
    assert (expected, "120") == (response.status_code, response.headers["x-ratelimit-limit"])
    assert {"x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/projects/{REF}/secrets"), ("PUT", "/v1/projects/{REF}")]
)
async def test_unknown_routes_answer_json(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """A route or method the simulator does not serve answers JSON with a message."""
    response = await client.request(method, path.format(REF=REF), headers=BEARER)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["message"], str)


def _shape(value: Any) -> Any:
    """The keys and value types of a JSON document, without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


async def test_addons_are_shaped_like_the_recorded_real_answer(client: httpx.AsyncClient) -> None:
    """The add-ons answer has the recorded real one's shape: the compute variant's keys,
    ``meta`` and price of the same types, and the same kinds of add-on offered."""
    real = recorded("mgmt_billing_addons_GET_default.response.json.txt")["body"]
    response = await client.get(f"/v1/projects/{REF}/billing/addons", headers=BEARER)
    served = response.json()
    assert _shape(real["selected_addons"]) == _shape(served["selected_addons"])
    real_compute = next(a for a in real["available_addons"] if a["type"] == "compute_instance")
    compute = next(a for a in served["available_addons"] if a["type"] == "compute_instance")
    assert _shape(real_compute["variants"][:1]) == _shape(compute["variants"][:1])
    real_kinds = {a["type"] for a in real["available_addons"]}
    served_kinds = {a["type"] for a in served["available_addons"]}
    assert served_kinds <= real_kinds
    assert {"compute_instance", "pitr", "custom_domain", "ipv4"} <= served_kinds


@pytest.mark.parametrize("token", ["sbp_sim_token", "sbp_" + "A" * 40, "sbp_" + "0" * 39, ""])
def test_only_tokens_of_the_real_format(tmp_path: Path, world: SimWorld, token: str) -> None:
    """The simulator accepts only a token of the real format (sbp_ and 40 hex digits), as
    the provider's CLI sends no other: the app refuses to be built, sim.toml names the key."""
    with pytest.raises(ValueError, match="token: must be sbp_ and 40 hex digits"):
        create_app(world, token=token)
    path = tmp_path / "sim.toml"
    path.write_text(f'token = "{token}"\n[[projects]]\nref = "{REF}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="token: must be sbp_ and 40 hex digits"):
        load_sim_config(path)
    assert create_app(world, token="sbp_oauth_" + "0a" * 20) is not None


def test_shipped_subset_is_fresh() -> None:
    """scripts/trim_openapi.py regenerates exactly the shipped subset from the published spec."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "trim_openapi.py"
    loader = importlib.util.spec_from_file_location("trim_openapi", script)
    assert loader is not None
    assert loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    expected = module.trim(json.loads(FULL.read_text(encoding="utf-8")))
    assert expected == json.loads(SUBSET.read_text(encoding="utf-8"))


async def test_a_scoped_token_gets_403_naming_what_it_lacks(
    checked: tuple[ManagementApi, SpecCheckedTransport], world: SimWorld
) -> None:
    """A scoped token without the add-ons' permissions: the reads and the PATCH answer 403
    (a status the spec declares) naming the one each needs, the client carries it as
    ``missing_permissions``, and ``check-config --online``'s check (reads only) names the read's;
    the project itself is read as before and nothing is changed."""
    api, _ = checked
    world.apply({"kind": "token", "lacks": ["infra_add_ons_read", "infra_add_ons_write"]})
    caught = []
    for call in (api.get_addons(REF), api.set_compute(REF, "ci_small")):
        with pytest.raises(AuthRejected) as refused:
            await call
        caught.append((refused.value.status, refused.value.missing_permissions))
    assert [(403, ("infra_add_ons_read",)), (403, ("infra_add_ons_write",))] == caught
    project = ProjectSettings.model_validate({"ref": REF, "escalation": {"mode": "auto"}})
    assert ("infra_add_ons_read",) == (await check_token(api, project)).lacking
    assert (REF, 0) == ((await api.get_project(REF)).ref, world.patch_calls)
    world.apply({"kind": "token"})
    assert "ci_micro" == (await api.get_addons(REF)).compute_variant


def test_the_simulators_permissions_cover_what_sbwatch_asks() -> None:
    """Every permission sbwatch says a feature needs is one the simulated API checks, so a
    scoped token lacking it is refused there as it would be by the provider."""
    asked = {p for _, perms in (MGMT_HEALTH, SIZE, ESCALATION, DISK, DISK_CHANGE, AUTH_CONFIG)
             for p in perms}  # fmt: skip
    assert asked <= set(PERMISSIONS)
