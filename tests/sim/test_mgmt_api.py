"""The simulated Management API: auth, rate limit, compute changes, faults, outage."""

from __future__ import annotations

import httpx
import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.sim.world import SimWorld

from .conftest import BEARER, REF

PATCH_SMALL = {"addon_type": "compute_instance", "addon_variant": "ci_small"}


async def test_get_project_shape(client: httpx.AsyncClient) -> None:
    """GET /v1/projects/{ref} answers the project with its status."""
    response = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    body = response.json()
    assert (200, REF, "ACTIVE_HEALTHY") == (response.status_code, body["ref"], body["status"])


async def test_list_projects_has_every_project(client: httpx.AsyncClient, world: SimWorld) -> None:
    """GET /v1/projects answers every project's document, as GET /v1/projects/{ref} does."""
    listed = await client.get("/v1/projects", headers=BEARER)
    one = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    assert 200 == listed.status_code
    assert sorted(world.projects) == sorted(p["ref"] for p in listed.json())
    assert one.json() in listed.json()
    assert 401 == (await client.get("/v1/projects")).status_code


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sbp_232576490fcfebf32b8ee2bfc23b62ebfc598dac"},
        {"Authorization": "Basic x"},
    ],
)
async def test_bearer_auth_required(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Without the right bearer token every Management API route answers 401."""
    response = await client.get(f"/v1/projects/{REF}/billing/addons", headers=headers)
    assert 401 == response.status_code


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    """Routes the simulator does not serve answer 404."""
    response = await client.get(f"/v1/projects/{REF}/secrets", headers=BEARER)
    assert 404 == response.status_code


async def test_unknown_project_is_404(client: httpx.AsyncClient) -> None:
    """A project the simulator does not know answers 404."""
    response = await client.get("/v1/projects/zzzzzzzzzzzzzzzzzzzz", headers=BEARER)
    assert 404 == response.status_code


async def test_rate_limit_120_a_minute(client: httpx.AsyncClient, clock: VirtualClock) -> None:
    """The 121st request in a minute gets 429 with X-RateLimit-* headers; next minute is fresh."""
    for _ in range(120):
        response = await client.get(f"/v1/projects/{REF}", headers=BEARER)
        assert 200 == response.status_code
    assert "0" == response.headers["X-RateLimit-Remaining"]
    clock.advance(20)
    limited = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    headers = limited.headers
    assert (429, "120", "0", "40") == (
        limited.status_code,
        headers["X-RateLimit-Limit"],
        headers["X-RateLimit-Remaining"],
        headers["X-RateLimit-Reset"],
    )
    clock.advance(40)
    again = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    assert (200, "119") == (again.status_code, again.headers["X-RateLimit-Remaining"])


async def test_health_lists_asked_services(client: httpx.AsyncClient) -> None:
    """Health answers one entry per asked service, each its own ``services=``."""
    repeated = await client.get(
        f"/v1/projects/{REF}/health?services=db&services=rest&services=auth", headers=BEARER
    )
    assert ["db", "rest", "auth"] == [entry["name"] for entry in repeated.json()]
    assert {"ACTIVE_HEALTHY"} == {entry["status"] for entry in repeated.json()}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "services"),
        ("?services=db,rest,auth", "services"),
        ("?services=db&services=nope", "services"),
        ("?services=db&timeout_ms=20000", "timeout_ms"),
        ("?services=db&timeout_ms=-1", "timeout_ms"),
        ("?services=db&timeout_ms=soon", "timeout_ms"),
    ],
)
async def test_health_bad_query_is_400(client: httpx.AsyncClient, query: str, named: str) -> None:
    """What the spec refuses is refused, naming the parameter: a missing or unknown service, a
    comma-joined array (the spec's array is exploded) and a timeout outside 0..10000."""
    response = await client.get(f"/v1/projects/{REF}/health{query}", headers=BEARER)
    assert 400 == response.status_code
    assert named in response.json()["message"]


async def test_overloaded_health_unhealthy_but_status_active(
    clock: VirtualClock, client: httpx.AsyncClient, world: SimWorld
) -> None:
    """In an IO exhaustion the services are UNHEALTHY while the project reads ACTIVE_HEALTHY."""
    world.project(REF).model.set_demand(60, 0)
    clock.advance(3 * 3600)
    health = await client.get(
        f"/v1/projects/{REF}/health?services=db&services=rest&services=auth", headers=BEARER
    )
    project = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    assert {"UNHEALTHY"} == {entry["status"] for entry in health.json()}
    assert "ACTIVE_HEALTHY" == project.json()["status"]


async def test_patch_resizes_and_counts(
    client: httpx.AsyncClient, clock: VirtualClock, world: SimWorld
) -> None:
    """PATCH answers 200, the project resizes for resize_seconds, then runs the new tier."""
    response = await client.patch(
        f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL
    )
    assert (200, b"") == (response.status_code, response.content)
    project = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    addons = await client.get(f"/v1/projects/{REF}/billing/addons", headers=BEARER)
    assert "RESIZING" == project.json()["status"]
    assert "ci_small" == addons.json()["selected_addons"][0]["variant"]["id"]
    clock.advance(120)
    assert ("small", "ACTIVE_HEALTHY") == (world.truth(REF)["tier"], world.truth(REF)["status"])
    assert {"patch_calls": 1, "patch_attempts": 1, "emails": 0} == world.stats()


async def test_patch_during_resize_is_refused(client: httpx.AsyncClient, world: SimWorld) -> None:
    """A second PATCH while resizing gets 500 and is not applied."""
    await client.patch(f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL)
    second = await client.patch(
        f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL
    )
    assert (500, 1, 2) == (second.status_code, world.patch_calls, world.patch_attempts)


@pytest.mark.parametrize(
    "body",
    [
        {"addon_type": "compute_instance", "addon_variant": "ci_huge"},
        {"addon_variant": "ci_small"},
        "x",
    ],
)
async def test_patch_bad_body_is_400(
    client: httpx.AsyncClient, world: SimWorld, body: object
) -> None:
    """A PATCH with a bad body is refused with 400 and counted only as an attempt."""
    response = await client.patch(f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=body)
    assert (400, 0, 1) == (response.status_code, world.patch_calls, world.patch_attempts)


async def test_delete_rolls_back(
    client: httpx.AsyncClient, clock: VirtualClock, world: SimWorld
) -> None:
    """DELETE of the active compute variant returns to the previous size after a resize."""
    await client.patch(f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL)
    clock.advance(120)
    wrong = await client.delete(f"/v1/projects/{REF}/billing/addons/ci_large", headers=BEARER)
    right = await client.delete(f"/v1/projects/{REF}/billing/addons/ci_small", headers=BEARER)
    clock.advance(120)
    assert (400, 200, "micro") == (wrong.status_code, right.status_code, world.truth(REF)["tier"])


@pytest.mark.parametrize(("path", "status"), [("pause", 403), ("restart", 404)])
async def test_pause_and_restart_not_available(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    """Pause answers 403 (paid projects) and restart 404 (no such operation), with a message."""
    response = await client.post(f"/v1/projects/{REF}/{path}", headers=BEARER)
    assert status == response.status_code
    assert "not available" in response.json()["message"]


async def test_fault_error_applies_nothing(client: httpx.AsyncClient, world: SimWorld) -> None:
    """With fault=error a PATCH gets 500 and nothing is applied."""
    world.apply({"kind": "mgmt_api", "fault": "error"})
    response = await client.patch(
        f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL
    )
    assert (500, 0, 1, "micro") == (
        response.status_code,
        world.patch_calls,
        world.patch_attempts,
        world.truth(REF)["tier"],
    )


async def test_fault_rate_limit(client: httpx.AsyncClient, world: SimWorld) -> None:
    """With fault=rate_limit every call gets 429 with the rate-limit headers."""
    world.apply({"kind": "mgmt_api", "fault": "rate_limit"})
    response = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    assert (429, "0") == (response.status_code, response.headers["X-RateLimit-Remaining"])
    assert int(response.headers["X-RateLimit-Reset"]) > 0


async def test_fault_slow_answers_after_30s_but_applies(
    client: httpx.AsyncClient, clock: VirtualClock, world: SimWorld
) -> None:
    """With fault=slow the PATCH answers 30 s later (virtual) and is applied."""
    world.apply({"kind": "mgmt_api", "fault": "slow"})
    response = await client.patch(
        f"/v1/projects/{REF}/billing/addons", headers=BEARER, json=PATCH_SMALL
    )
    assert (200, 30.0, 1) == (response.status_code, clock.elapsed, world.patch_calls)
    world.apply({"kind": "mgmt_api", "fault": "none"})
    clock.advance(120)
    assert "small" == world.truth(REF)["tier"]


async def test_platform_outage_fails_everything_but_the_status_page(
    client: httpx.AsyncClient, world: SimWorld
) -> None:
    """In a platform outage the API and project endpoints answer 503; the status page answers."""
    world.apply({"kind": "platform_outage", "on": True})
    api = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    rest = await client.get(f"/p/{REF}/rest/v1/", headers={"apikey": "test-service-key"})
    status = await client.get("/status/api/v2/status.json")
    assert (503, 503, 200) == (api.status_code, rest.status_code, status.status_code)
