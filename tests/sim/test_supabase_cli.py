"""The provider's own CLI (supabase 2.117.0 from npm) against the simulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.supabase_cli import VERSION, cli_env, cli_path, run_cli

from sbwatch.core.clock import VirtualClock
from sbwatch.core.tiers import Tier
from sbwatch.sim.app import create_app
from sbwatch.sim.world import SimWorld

from .conftest import OTHER, REF, LiveServer

pytestmark = pytest.mark.integration
TOKEN = "sbp_" + "c1" * 20


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    """The simulator with two projects on a free 127.0.0.1 port."""
    world = SimWorld(VirtualClock())
    world.add_project(REF, Tier.MICRO)
    world.add_project(OTHER, Tier.SMALL)
    live = LiveServer(create_app(world, token=TOKEN))
    await live.start()
    yield live
    await live.stop()


def profile(directory: Path, url: str) -> Path:
    """A CLI profile whose API URL is the simulator's."""
    path = directory / "profile.json"
    document = {"name": "sim", "api_url": url, "dashboard_url": url, "project_host": "supabase.co"}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_pinned_release_is_installed() -> None:
    """scripts/install-supabase-cli.sh put the pinned release in place."""
    import subprocess

    found = subprocess.run([cli_path(), "--version"], capture_output=True, text=True, check=True)
    assert VERSION == found.stdout.strip()


async def test_projects_list(server: LiveServer, tmp_path: Path) -> None:
    """``supabase --profile FILE projects list`` lists the simulated projects, as JSON too."""
    env = cli_env(tmp_path, SUPABASE_ACCESS_TOKEN=TOKEN)
    path = profile(tmp_path, server.url)
    code, out, err = await run_cli(
        "--profile", str(path), "projects", "list", "-o", "json", cwd=tmp_path, env=env
    )
    assert 0 == code, err
    listed = json.loads(out)
    assert sorted([REF, OTHER]) == sorted(p["ref"] for p in listed)
    assert {"ACTIVE_HEALTHY"} == {p["status"] for p in listed}


async def test_a_wrong_token_is_refused(server: LiveServer, tmp_path: Path) -> None:
    """A token of the real format the simulator does not know is refused (401), and the CLI
    says so; a token of another shape the CLI refuses before sending."""
    path = profile(tmp_path, server.url)
    other = cli_env(tmp_path, SUPABASE_ACCESS_TOKEN="sbp_" + "0" * 40)
    code, _, err = await run_cli(
        "--profile", str(path), "projects", "list", cwd=tmp_path, env=other
    )
    assert 0 != code
    assert "401" in err or "nauthorized" in err
    shaped = cli_env(tmp_path, SUPABASE_ACCESS_TOKEN="sbp_sim_token")
    code, _, err = await run_cli(
        "--profile", str(path), "projects", "list", cwd=tmp_path, env=shaped
    )
    assert 0 != code
    assert "Invalid access token format" in err
