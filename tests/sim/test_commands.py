"""``sbwatch sim serve`` and ``sbwatch sim ctl``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest

from sbwatch.cli import build_parser, main
from sbwatch.commands.sim import parse_pairs
from sbwatch.config.settings import load_settings
from sbwatch.core.errors import ConfigError
from sbwatch.sim.serve import build_world, load_sim_config, serve

from .conftest import REF

SIM_TOML = f"""
port = 0
token = "sbp_5661a1919244ab9515034443d6d028cbaec9c110"
service_key = "cli-key"
resize_seconds = 1
[[projects]]
ref = "{REF}"
tier = "micro"
budget = 80
"""


def test_parse_pairs() -> None:
    """key=value pairs become an event, JSON values typed."""
    event = parse_pairs("email", ["template=io_budget_warning", "spoofed=true", "n=3"])
    assert {"kind": "email", "template": "io_budget_warning", "spoofed": True, "n": 3} == event
    with pytest.raises(ValueError, match="key=value"):
        parse_pairs("network", ["on"])


def test_parser_has_serve_and_ctl() -> None:
    """``sbwatch sim`` has serve and ctl, each with its own options."""
    args = build_parser().parse_args(
        ["sim", "ctl", "workload", "read_mbps=40", "--url", "http://127.0.0.1:1"]
    )
    assert ("ctl", "workload", ["read_mbps=40"]) == (args.sim_command, args.kind, args.pairs)
    args = build_parser().parse_args(["sim", "serve", "--config", "sim.toml"])
    assert Path("sim.toml") == args.sim_config


def test_bad_sim_config(tmp_path: Path) -> None:
    """Problems in sim.toml are listed."""
    path = tmp_path / "sim.toml"
    path.write_text('colour = 1\n[[projects]]\nref = "x"\ntier = "mega"\n')
    with pytest.raises(ConfigError) as caught:
        load_sim_config(path)
    assert [
        "colour: unknown key",
        "projects[0].ref: must be 20 lowercase letters",
        "projects[0].tier: unknown tier 'mega'",
    ] == caught.value.problems


def test_sim_config_true_limits(tmp_path: Path) -> None:
    """true_limits_factor per project reaches the world's model; a bad one is named."""
    path = tmp_path / "sim.toml"
    path.write_text(f'[[projects]]\nref = "{REF}"\ntrue_limits_factor = 1.2\n')
    world = build_world(load_sim_config(path))
    assert (1.2, 60.0) == (world.truth(REF)["true_limits_factor"], world.metrics_update_s)
    path.write_text(f'metrics_update_s = 0\n[[projects]]\nref = "{REF}"\n')
    assert 0.0 == build_world(load_sim_config(path)).metrics_update_s
    path.write_text(f'[[projects]]\nref = "{REF}"\ntrue_limits_factor = 0.5\nbudgett = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_sim_config(path)
    assert [
        "projects[0].budgett: unknown key",
        "projects[0].true_limits_factor: must be a number from 1 to 10",
    ] == caught.value.problems


def test_serve_command_reports_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sbwatch sim serve`` with an invalid file exits 1 printing the problems."""
    path = tmp_path / "sim.toml"
    path.write_text("projects = []\n")
    assert 1 == main(["sim", "serve", "--config", str(path)])
    assert "projects: at least one" in capsys.readouterr().err


@pytest.mark.integration
async def test_serve_and_ctl(tmp_path: Path) -> None:
    """A served simulator answers over HTTP, its snippet is valid settings, ctl steers it."""
    path = tmp_path / "sim.toml"
    path.write_text(SIM_TOML)
    config = load_sim_config(path)
    stop = asyncio.Event()
    started: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(config, ready=lambda port, snippet: started.set_result((port, snippet)), stop=stop)
    )
    try:
        port, snippet = await asyncio.wait_for(started, 10)
        settings = load_settings(text=snippet)
        assert f"http://127.0.0.1:{port}/p/{REF}" == settings.projects[0].url
        url = f"http://127.0.0.1:{port}"
        code = await asyncio.to_thread(
            main, ["sim", "ctl", "service", "name=rest", "up=false", "--url", url]
        )
        assert 0 == code
        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            truth = (await http.get(f"/_sim/truth/{REF}")).json()
            rest = await http.get(f"/p/{REF}/rest/v1/", headers={"apikey": "cli-key"})
        assert (["rest"], 0.8, 503) == (
            truth["down"],
            round(truth["budget_ratio"], 2),
            rest.status_code,
        )
        bad = await asyncio.to_thread(main, ["sim", "ctl", "meteor", "--url", url])
        assert 2 == bad
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


def test_ctl_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    """ctl against nothing exits 1 with a short message."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert 1 == main(["sim", "ctl", "stats", "--url", f"http://127.0.0.1:{port}"])
    assert "no simulator answers at" in capsys.readouterr().err


def test_ctl_checks_pattern_and_iops_events() -> None:
    """``sim ctl`` validates the new event kinds and keys as a scenario does."""
    from sbwatch.commands.sim import checked_event

    hours = "[" + ",".join(["10"] * 24) + "]"
    event = checked_event("pattern", [f"hours={hours}", f"ref={REF}"])
    assert ("pattern", [10.0] * 24, REF) == (event["kind"], event["hours"], event["ref"])
    assert {"kind": "workload", "read_mbps": 2.0, "read_iops": 900.0} == checked_event(
        "workload", ["read_mbps=2", "read_iops=900"]
    )
    with pytest.raises(ConfigError) as caught:
        checked_event("pattern", ["hours=[1,2]", "weekdays=[1]"])
    assert [
        "hours: must be a list of 24 numbers from 0 to 1e+06",
        "weekdays: must be a list of 7 numbers from 0 to 100",
    ] == caught.value.problems


def test_ctl_checks_an_outside_resize() -> None:
    """``sim ctl outside_resize tier=SIZE`` is checked as in a scenario: the size must exist."""
    from sbwatch.commands.sim import checked_event

    assert {"kind": "outside_resize", "tier": "small", "ref": REF} == checked_event(
        "outside_resize", ["tier=small", f"ref={REF}"]
    )
    with pytest.raises(ConfigError) as caught:
        checked_event("outside_resize", ["tier=huge"])
    assert caught.value.problems[0].startswith("tier: must be one of nano, micro, small")
    with pytest.raises(ConfigError) as caught:
        checked_event("outside_resize", [])
    assert ["tier: required for an outside_resize event"] == caught.value.problems
