"""The simulator over real HTTP: auth, rate limit and a compute change with its resize window."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sbwatch.core.clock import SystemClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.world import SimWorld, create_app

from .conftest import BEARER, REF, TOKEN, LiveServer, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def live() -> AsyncIterator[tuple[LiveServer, SimWorld]]:
    """A world on the system clock (resize 0.5 s) served by uvicorn on a free port."""
    world = SimWorld(SystemClock(), resize_seconds=0.5)
    world.add_project(REF, Tier.MICRO)
    server = LiveServer(create_app(world, token=TOKEN))
    await server.start()
    try:
        yield server, world
    finally:
        await server.stop()


async def test_auth_rate_limit_patch_and_resize(live: tuple[LiveServer, SimWorld]) -> None:
    """Over a socket: 401 without a token, PATCH -> RESIZING -> small, then 429 past 120 calls."""
    server, world = live
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
        assert 401 == (await http.get(f"/v1/projects/{REF}")).status_code
        patch = await http.patch(
            f"/v1/projects/{REF}/billing/addons",
            headers=BEARER,
            json={"addon_type": "compute_instance", "addon_variant": "ci_small"},
        )
        assert 200 == patch.status_code
        status = (await http.get(f"/v1/projects/{REF}", headers=BEARER)).json()["status"]
        assert "RESIZING" == status

        async def healthy_small() -> bool:
            body = (await http.get(f"/v1/projects/{REF}", headers=BEARER)).json()
            return bool(body["status"] == "ACTIVE_HEALTHY" and world.truth(REF)["tier"] == "small")

        await wait_for(healthy_small, timeout=10.0, interval=0.1)
        codes = [
            (await http.get(f"/v1/projects/{REF}", headers=BEARER)).status_code for _ in range(125)
        ]
        assert 429 == codes[-1]
        limited = await http.get(f"/v1/projects/{REF}", headers=BEARER)
        assert ("120", "0") == (
            limited.headers["x-ratelimit-limit"],
            limited.headers["x-ratelimit-remaining"],
        )
    assert (1, 1) == (world.patch_calls, world.patch_attempts)
