"""An organization over its quota, replayed: the simulator's project endpoints answer 402, the
daemon diagnoses quota_restricted (not an outage, not the budget), changes no size however
empty the budget, says what is restricted and what lifts it, and resolves once it is lifted."""

from __future__ import annotations

import asyncio

import httpx

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.app import create_app
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario
from sbwatch.sim.world import SimWorld

REF = "abcdefghijklmnopqrst"
SCENARIO = f"""
name = "quota-restricted"
duration = "5h"

[project]
ref = "{REF}"
tier = "micro"
io_budget_pct = 2

[policy]
mode = "auto"
max_tier = "small"
monthly_cost_cap_usd = 30

[[events]]
at = "0s"
kind = "workload"
read_mbps = 30

[[events]]
at = "0s"
kind = "quota"
restricted = true
over = "egress"

[[events]]
at = "3h"
kind = "quota"
restricted = false

[[events]]
at = "3h"
kind = "workload"
read_mbps = 5

[expect]
diagnosis = "quota_restricted"
never = ["platform_outage", "local_network", "io_budget_exhausted"]
escalate_to = "none"
max_patch_calls = 0

[[expect.messages]]
severity = "critical"
title = "restricted by the organization's quota .* not an outage"
contains = "every service of the organization.*the next billing cycle, a plan upgrade"
"""


def test_a_restricted_organization_is_its_own_diagnosis_and_never_a_resize() -> None:
    """Three hours restricted with the disk IO budget empty under a heavy workload, in auto
    mode: every expectation holds (the diagnosis, no size change, the message's words), no
    PATCH is even attempted, and after the lift, with the services failing on from the empty
    budget, the restriction's alert sends no RESOLVED: it becomes a line of the budget's."""
    report = asyncio.run(replay(parse_scenario(SCENARIO)))
    assert [] == [c for c in report["checks"] if not c["passed"]]
    assert 0 == report["patch_attempts"]
    restricted = [d["at_s"] for d in report["diagnoses"] if d["kind"] == "quota_restricted"]
    resolved = [
        a["at_s"]
        for a in report["alerts"]
        if a["title"].startswith("RESOLVED") and "organization's quota" in a["title"]
    ]
    assert restricted[0] < 60
    assert [] == resolved
    taken = [
        a
        for a in report["alerts"]
        if a["at_s"] > 3 * 3600
        and "Part of it:" in a["body"]
        and "organization's quota" in a["body"]
    ]
    assert taken, [a["title"] for a in report["alerts"]]


async def test_the_simulator_answers_402_while_restricted() -> None:
    """REST and auth answer 402 saying what the organization is over and what lifts it; the
    Management API still answers (its spec declares no 402 there); lifted, 200 again."""
    world = SimWorld(VirtualClock())
    world.add_project(REF, Tier.MICRO)
    app = create_app(world, service_key="k")
    key = {"apikey": "k"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim.test"
    ) as http:
        world.apply({"kind": "quota", "restricted": True, "over": "database_size"})
        restricted = [await http.get(f"/p/{REF}{path}", headers=key) for path in PATHS]
        world.apply({"kind": "quota", "restricted": False})
        lifted = [await http.get(f"/p/{REF}{path}", headers=key) for path in PATHS]
    assert [402, 402] == [r.status_code for r in restricted]
    said = restricted[0].json()["message"]
    assert "exceeded its database size quota" in said
    assert "next billing cycle" in said
    assert [200, 200] == [r.status_code for r in lifted]


PATHS = ("/rest/v1/", "/auth/v1/health")
