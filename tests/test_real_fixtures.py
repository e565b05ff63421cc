"""The provider's own outputs (tests/fixtures/real), each read by the code that handles its kind.

The metrics exposition and the email and banner texts have their own tests beside their
parsers (tests/budget/test_metrics_probe.py, tests/ingest/test_parse.py); these are the rest.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import TIERS, Tier
from sbwatch.probes.status_page import _parse_summary
from sbwatch.supabase.mgmt_api import ManagementApi

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
REF = "abcdefghijklmnopqrst"
GO_NAMES = {
    "Auth": "auth", "Db": "db", "DbPostgresUser": "db_postgres_user", "PgBouncer": "pg_bouncer",
    "Pooler": "pooler", "Realtime": "realtime", "Rest": "rest", "Storage": "storage",
}  # fmt: skip
GO_STATUSES = {"ACTIVEHEALTHY": "ACTIVE_HEALTHY", "UNHEALTHY": "UNHEALTHY", "COMINGUP": "COMING_UP"}


def recorded(name: str) -> dict[str, Any]:
    """A recorded interaction ({status, headers, body}), its '#' source lines taken off."""
    text = (REAL / name).read_text()
    doc: dict[str, Any] = json.loads(
        "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    )
    return doc


def api_answering(
    status: int, body: Any, headers: dict[str, str]
) -> tuple[ManagementApi, httpx.AsyncClient]:
    """The real Management API client over a transport that gives the recorded answer."""
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(status, json=body, headers=headers)
        )
    )
    api = ManagementApi(
        client,
        "https://api.supabase.com",
        SecretStr("sbp_ae3871ab4e73d64c2e9ecd7f5004736d6fa153fa"),
        clock=VirtualClock(),
    )
    return api, client


@pytest.mark.parametrize(
    "name",
    [
        "mgmt_billing_addons_GET_default.response.json.txt",
        "mgmt_billing_addons_GET_2.response.json.txt",
    ],
)
async def test_recorded_billing_addons_give_the_size_and_the_prices(name: str) -> None:
    """The compute size comes from the selected add-on; every listed variant has its price."""
    doc = recorded(name)
    selected = next(a for a in doc["body"]["selected_addons"] if a["type"] == "compute_instance")
    api, client = api_answering(doc["status"], doc["body"], doc["headers"])
    async with client:
        addons = await api.get_addons(REF)
    assert selected["variant"]["id"] == addons.compute_variant
    assert Tier(selected["variant"]["name"].lower()) == addons.compute_tier
    assert addons.monthly_prices
    assert all(price >= 0 for price in addons.monthly_prices.values())


async def test_recorded_project_gives_its_name_and_status() -> None:
    """GET /v1/projects/{ref}: the name emails call it by, and the status (a tiebreaker)."""
    doc = recorded("mgmt_project_GET_default.response.json.txt")
    api, client = api_answering(doc["status"], doc["body"], doc["headers"])
    async with client:
        project = await api.get_project(REF)
    assert (doc["body"]["name"], doc["body"]["status"]) == (project.name, project.status)


async def test_recorded_project_in_a_list_gives_every_name() -> None:
    """GET /v1/projects answers a list of the same documents: one request names them all."""
    doc = recorded("mgmt_project_GET_default.response.json.txt")
    other = {**doc["body"], "ref": "otherprojectrefaaaaa", "name": "other"}
    api, client = api_answering(doc["status"], [doc["body"], other], doc["headers"])
    async with client:
        projects = await api.list_projects()
    assert [doc["body"]["name"], "other"] == [p.name for p in projects]
    assert [doc["body"]["ref"], "otherprojectrefaaaaa"] == [p.ref for p in projects]


def go_health_answers() -> list[list[dict[str, Any]]]:
    """The /health answers a Supabase-maintained client is tested against, as JSON."""
    text = (REAL / "mgmt_health_shapes_from_terraform_provider.go.txt").read_text()
    entry = re.compile(
        r"\{Name: api\.V1ServiceHealthResponseName(\w+), Status: api\.(\w+)"
        r"(?:, Healthy: (true|false))?(?:, Error: Ptr\(`([^`]*)`\))?\}"
    )
    answers = []
    for block in re.findall(r"\{\s*(\{Name:.*?\})\s*,?\s*\}", text, flags=re.S):
        found = entry.findall(block)
        answers.append(
            [
                {"name": GO_NAMES[n], "status": GO_STATUSES[s], "healthy": h == "true"}
                | ({"error": e} if e else {})
                for n, s, h, e in found
            ]
        )
    return [a for a in answers if a]


async def test_the_health_shapes_the_provider_answers_are_read() -> None:
    """Healthy, unhealthy with the provider's error text, coming up: every entry kept."""
    answers = go_health_answers()
    assert len(answers) >= 3
    for answer in answers:
        api, client = api_answering(200, answer, {})
        async with client:
            health = await api.health(REF, services=[e["name"] for e in answer])
        assert [(e["name"], e["status"]) for e in answer] == [(h.name, h.status) for h in health]
        assert [e.get("error") for e in answer] == [h.error for h in health]


def test_a_real_status_page_during_an_incident_is_read_by_component() -> None:
    """GitHub's page during an incident: the indicator and the wanted components' statuses."""
    summary = json.loads(
        "\n".join(
            ln
            for ln in (REAL / "statuspage_summary_githubstatus_2022-11-25_incident.json.txt")
            .read_text()
            .splitlines()
            if not ln.startswith("#")
        )
    )
    statuses = {c["name"]: c["status"] for c in summary["components"]}
    wanted = ["Git Operations", "API Requests", "No Such Component"]
    parsed = _parse_summary(summary, wanted)
    assert parsed is not None
    indicator, components, missing = parsed
    assert summary["status"]["indicator"] == indicator
    assert {n: statuses[n] for n in wanted[:2]} == components
    assert ["No Such Component"] == missing


def js_round(value: float) -> int:
    """JavaScript's Math.round (halves up), as the provider's table computes it."""
    return math.floor(value + 0.5)


def test_the_size_table_is_the_providers() -> None:
    """Every burst, IOPS figure and baseline is the provider's table's (Mbps / 8, rounded);
    medium's baseline is the newer 39 MB/s (it became so in September 2026)."""
    text = (REAL / "supabase_shared-data_compute-disk-limits.ts.txt").read_text()
    rows = re.findall(
        r"(ci_\w+): \{\s*name: '[^']*',\s*baselineIops: (\d+),\s*maxIops: (\d+),\s*"
        r"baselineThroughputMBps: toMBps\((\d+)\),\s*maxThroughputMBps: toMBps\((\d+)\)",
        text,
    )
    table = {
        v: (int(bi), int(mi), js_round(int(bt) / 8), js_round(int(mt) / 8))
        for v, bi, mi, bt, mt in rows
    }
    ours = {s.variant or "ci_nano": s for s in TIERS}
    for variant, spec in ours.items():
        base_iops, max_iops, base_mb, max_mb = table[variant]
        assert (base_iops, max_iops, max_mb) == (spec.baseline_iops, spec.max_iops, spec.max_mbps)
        expected = 39 if spec.tier is Tier.MEDIUM else base_mb
        assert expected == spec.baseline_mbps, variant
