"""Every simulated Management API answer matches the provider's OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core import Config, OpenAPI

from sbwatch.core.clock import VirtualClock
from sbwatch.sim.world import SimWorld

from .conftest import BEARER, REF, validate_response

SUBSET = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "sim" / "openapi-subset.json"
FULL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "supabase-mgmt-openapi.json"
SMALL = {"addon_type": "compute_instance", "addon_variant": "ci_small"}


def _specs() -> list[Any]:
    return [pytest.param(str(SUBSET), id="subset"), pytest.param(str(FULL), id="full")]


@pytest.fixture(scope="module", params=_specs())
def spec(request: pytest.FixtureRequest) -> OpenAPI:
    """The shipped subset, and the full published document."""
    document = json.loads(Path(request.param).read_text(encoding="utf-8"))
    # the full document has vendor keys without the x- prefix; check responses, not the document
    config = Config(spec_validator_cls=None) if request.param == str(FULL) else Config()
    return OpenAPI.from_dict(document, config=config)


async def _exchange(
    client: httpx.AsyncClient, world: SimWorld, clock: VirtualClock, case: str
) -> httpx.Response:
    """One request per case, the world prepared for it."""
    projects = f"/v1/projects/{REF}"
    if case.startswith("overloaded"):
        world.project(REF).model.set_demand(60, 0)
        clock.advance(3 * 3600)
    if case.endswith("error"):
        world.apply({"kind": "mgmt_api", "fault": "error"})
    if case.endswith("limited"):
        world.apply({"kind": "mgmt_api", "fault": "rate_limit"})
    if case.endswith("resizing"):
        await client.patch(f"{projects}/billing/addons", headers=BEARER, json=SMALL)
    method, path, body = {
        "project": ("GET", projects, None),
        "project-resizing": ("GET", projects, None),
        "project-unauthorized": ("GET", projects, None),
        "project-error": ("GET", projects, None),
        "health": ("GET", f"{projects}/health?services=db,rest,auth,storage", None),
        "health-resizing": ("GET", f"{projects}/health?services=db,rest,auth", None),
        "overloaded-health": (
            "GET",
            f"{projects}/health?services=db,rest,auth&timeout_ms=5000",
            None,
        ),
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
        "pause": ("POST", f"{projects}/pause", None),
        "pause-limited": ("POST", f"{projects}/pause", None),
    }[case]
    headers = {} if case.endswith("unauthorized") else BEARER
    return await client.request(method, path, headers=headers, json=body)


CASES = [
    ("project", 200), ("project-resizing", 200), ("project-unauthorized", 401),
    ("project-error", 500),
    ("health", 200), ("health-resizing", 200), ("overloaded-health", 200), ("health-limited", 429),
    ("addons", 200), ("addons-resizing", 200), ("addons-error", 500),
    ("patch", 200), ("patch-resizing", 500), ("patch-error", 500), ("patch-limited", 429),
    ("delete", 200), ("delete-error", 500), ("pause", 403), ("pause-limited", 429),
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
    """Each route's answer (errors included where the spec lists them) matches the spec."""
    response = await _exchange(client, world, clock, case)
    assert status == response.status_code
    validate_response(spec, response)


async def test_validation_catches_a_wrong_answer(spec: OpenAPI, client: httpx.AsyncClient) -> None:
    """The validator is not vacuous: a status outside the enum is rejected."""
    response = await client.get(f"/v1/projects/{REF}", headers=BEARER)
    body = response.json() | {"status": "SLEEPY"}
    forged = httpx.Response(200, json=body, request=response.request)
    with pytest.raises(Exception, match=r"SLEEPY|status|valid"):
        validate_response(spec, forged)


def test_shipped_subset_is_fresh() -> None:
    """scripts/trim_openapi.py regenerates exactly the shipped subset."""
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "trim_openapi.py"
    loader = importlib.util.spec_from_file_location("trim_openapi", script)
    assert loader is not None
    assert loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    expected = module.trim(json.loads(FULL.read_text(encoding="utf-8")))
    assert expected == json.loads(SUBSET.read_text(encoding="utf-8"))
