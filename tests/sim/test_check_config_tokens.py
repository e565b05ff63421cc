"""``check-config --online`` lists the permissions each enabled feature needs of the
Management API token, and names those a scoped token lacks (asked with read calls only)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .conftest import REF, LiveServer

TOKEN = "sbp_" + "5c0e" * 10
PROJECT = {
    "id": REF, "ref": REF, "organization_id": "o", "name": "shop", "region": "eu-central-1",
    "created_at": "2026-01-05T10:00:00.000Z", "status": "ACTIVE_HEALTHY",
}  # fmt: skip


def provider(status: int, missing: list[str]) -> Starlette:
    """A Management API whose add-ons call answers ``status`` naming ``missing``."""
    seen: list[str] = []

    async def project(request: Request) -> Response:
        seen.append(request.method)
        return JSONResponse(PROJECT)

    async def addons(request: Request) -> Response:
        seen.append(request.method)
        return JSONResponse({"message": "Forbidden", "missing_permissions": missing}, status)

    app = Starlette(
        routes=[
            Route(f"/v1/projects/{REF}", project),
            Route(f"/v1/projects/{REF}/billing/addons", addons),
        ]
    )
    app.state.seen = seen
    return app


async def check(tmp_path: Path, url: str, mode: str) -> tuple[int, str, str]:
    """Run ``sbwatch check-config FILE --online`` against the API at ``url``."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'mgmt_api_url = "{url}"\nmgmt_token = "{TOKEN}"\nstatus_page = {{ enabled = false }}\n'
        f'[[projects]]\nref = "{REF}"\ntier = "micro"\nservice_key = "k"\n'
        f'probes = {{ mgmt_health = {{}} }}\nescalation = {{ mode = "{mode}" }}\n',
        encoding="utf-8",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sbwatch", "check-config", str(config), "--online",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_scoped_token_lacking_a_permission_is_named(tmp_path: Path) -> None:
    """The needs of the mgmt_health probe, the size reading and escalation are listed; the
    add-ons read answering 403 with missing_permissions makes a problem naming the permission
    and the feature that needs it; no write call is made, and the token is never printed."""
    app = provider(403, ["infra_add_ons_read"])
    server = LiveServer(app)
    await server.start()
    try:
        code, out, err = await check(tmp_path, server.url, "ask")
    finally:
        await server.stop()
    assert 1 == code, err
    assert "projects[0].mgmt_token: the mgmt_health probe needs project_admin_read" in out
    assert "escalation (changing the compute size) needs infra_add_ons_write" in out
    assert "growing the disk needs infra_disk_config_write" in out
    assert "reading the auth rate limits and SMTP needs auth_config_read" in out
    assert (
        "projects[0].mgmt_token (line 4): the token lacks infra_add_ons_read"
        " (needed by reading the compute size and prices)"
    ) in err
    assert {"GET"} == set(app.state.seen)
    assert TOKEN not in out + err


async def test_an_expired_token_is_said(tmp_path: Path) -> None:
    """A 401 is "token invalid or expired"; with escalation off its permission is not listed."""
    server = LiveServer(provider(401, []))
    await server.start()
    try:
        code, out, err = await check(tmp_path, server.url, "off")
    finally:
        await server.stop()
    assert 1 == code
    assert "infra_add_ons_write" not in out
    assert "projects[0].mgmt_token (line 4): token invalid or expired (HTTP 401)" in err
