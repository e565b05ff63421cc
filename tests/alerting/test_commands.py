"""The ``sbwatch alert`` and ``sbwatch silence`` commands."""

from __future__ import annotations

import getpass
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.servers import free_port

from sbwatch.cli import build_parser, main
from sbwatch.commands.alert import list_alerts, send_test
from sbwatch.commands.silence import add_silence, list_silences, remove_silence, resolve_project
from sbwatch.config.settings import RouteSettings, load_settings
from sbwatch.core.results import Alert, Severity

# tests are not a package for mypy; pytest's importlib mode resolves the sibling module
from .conftest import Receiver, StoreFactory

# apprise loads its plugins on first use; one of them imports the deprecated stdlib imghdr
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

P = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


async def test_alert_test_reports_each_route(receiver: Receiver) -> None:
    """Each route is tried once and its outcome printed; any failure exits 1."""
    await receiver.up(200)
    routes = [
        RouteSettings(name="phone", url=SecretStr(receiver.url())),
        # the configuration refuses such a URL; delivery still reports one it is handed
        RouteSettings.model_construct(name="broken", url=SecretStr("nosuchschema://x")),
    ]
    out = io.StringIO()
    assert 1 == await send_test(routes, None, out=out)
    assert "phone: sent\nbroken: failed (invalid route url)\n" == out.getvalue()
    assert ["sbwatch test: route phone"] == [p["title"] for p in receiver.posts]


async def test_alert_test_one_route_and_unknown_route(receiver: Receiver) -> None:
    """Naming a route sends only there; an unknown name exits 2 listing the routes."""
    routes = [RouteSettings(name="phone", url=SecretStr(receiver.url()))]
    out = io.StringIO()
    assert (0, 2) == (
        await send_test(routes, "phone", out=out),
        await send_test(routes, "pager", out=out),
    )
    assert "phone: sent\nno route 'pager' (routes: phone)\n" == out.getvalue()


def test_alert_test_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``sbwatch alert test`` with an unreachable route prints a transient failure and exits 1."""
    config = tmp_path / "config.toml"
    secret = "tok-9f8e7d"
    url = f"json://127.0.0.1:{free_port()}/hook/{secret}"
    config.write_text(f'[alerting]\nroutes = [{{ name = "phone", url = "{url}" }}]\n')
    assert 1 == main(["--config", str(config), "alert", "test"])
    captured = capsys.readouterr()
    assert "phone: retry (connection error)\n" == captured.out
    assert secret not in captured.out + captured.err


async def test_alert_list_shows_open_alerts_and_failures(
    make_store: StoreFactory, tmp_path: Path
) -> None:
    """Open alerts, waiting and failed notifications are listed; failures exit 1."""
    store = await make_store(tmp_path / "s.db")
    alert = Alert(f"{P}:budget", P, Severity.CRITICAL, "IO budget exhausted", "b", NOW)
    await store.save_alert(alert)
    first = await store.enqueue_notification(alert.key, "phone", Severity.CRITICAL, "t1", "b", NOW)
    await store.enqueue_notification(alert.key, "chat", Severity.CRITICAL, "t2", "b", NOW)
    await store.mark_failed(first.id, "http 400", NOW)
    out = io.StringIO()
    assert 1 == await list_alerts(store, NOW + timedelta(minutes=5), timedelta(days=7), out=out)
    expected = (
        "open alerts: 1\n"
        f"  critical {P}:budget  IO budget exhausted  (open 5m)\n"
        "waiting to be delivered: 1\n"
        "  #2 chat  t2  (attempts 0)\n"
        "failed: 1\n"
        "  #1 phone  t1  (http 400)\n"
    )
    assert expected == out.getvalue()


async def test_silence_add_list_remove(make_store: StoreFactory, tmp_path: Path) -> None:
    """A silence is added from now, listed as active, and removed by id."""
    store = await make_store(tmp_path / "s.db")
    out = io.StringIO()
    assert 0 == await add_silence(store, P, timedelta(hours=2), "deploy", NOW, out=out)
    (silence,) = await store.silences(NOW + timedelta(hours=1))
    assert (P, NOW + timedelta(hours=2)) == (silence.project, silence.ends_at)
    assert silence.created_by.startswith("cli:")
    await list_silences(store, NOW + timedelta(minutes=30), out=out)
    assert (0, 1) == (
        await remove_silence(store, 1, out=out),
        await remove_silence(store, 1, out=out),
    )
    lines = out.getvalue().splitlines()
    assert f"silence #1: {P} until 2026-05-20 14:00 UTC (deploy)" == lines[0]
    assert "active, 1h30m left  deploy" in lines[1]
    assert ["silence #1 removed", "no silence #1"] == lines[2:]


def test_silence_resolves_refs_names_and_star() -> None:
    """REF may be a configured ref, its display name, or ``*``."""
    settings = load_settings(text=f'[[projects]]\nref = "{P}"\nname = "Shop"\nprobes = {{}}\n')
    assert [P, P, "*", None] == [resolve_project(settings, ref) for ref in (P, "Shop", "*", "nope")]


@pytest.mark.parametrize(
    "argv",
    [["silence"], ["silence", "--list", "--remove", "1"], ["silence", P]],
)
def test_silence_argument_errors_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing or conflicting arguments exit 2 with a hint, before touching any store."""
    assert 2 == main(argv)
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize(
    "argv", [["alert", "--help"], ["alert", "test", "--help"], ["silence", "--help"]]
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` explains the commands."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert 0 == exc.value.code
    assert "usage: sbwatch" in capsys.readouterr().out


def test_silence_and_alert_list_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sbwatch silence`` and ``sbwatch alert list`` work on the configured SQLite file."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n\n'
        f'[[projects]]\nref = "{P}"\nname = "Shop"\nprobes = {{}}\n'
    )
    c = ["--config", str(config)]
    assert 0 == main([*c, "silence", "Shop", "--for", "2h", "--reason", "deploy"])
    assert 0 == main([*c, "silence", "--list"])
    assert 0 == main([*c, "alert", "list"])
    assert 0 == main([*c, "silence", "--remove", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"silence #1: {P} until ")
    assert lines[1].startswith(f"#1 {P}  ")
    assert "active, " in lines[1]
    assert lines[1].endswith("left  deploy  by cli:" + getpass.getuser())
    assert ["open alerts: 0", "waiting to be delivered: 0", "failed: 0"] == lines[2:5]
    assert "silence #1 removed" == lines[5]
