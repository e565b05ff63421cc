"""One state store whatever the directory: where the configuration points, never a new one by
accident, and the same default for the service and an operator's shell."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sbwatch.cli import main
from sbwatch.config.settings import default_state_path, load_settings
from sbwatch.store import open_store

REF = "abcdefghijklmnopqrst"
READ_ONLY = [
    ["status"],
    ["status", "--json"],
    ["history"],
    ["plan"],
    ["budget"],
    ["alert", "list"],
    ["silence", "--list"],
]


def config_in(directory: Path, state: str = 'path = "state/sbwatch.db"\n') -> Path:
    """A configuration in ``directory`` with a relative store path and a relative secret file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text("sbp_" + "0" * 40 + "\n", encoding="utf-8")
    config = directory / "config.toml"
    config.write_text(
        f'mgmt_token = "file:token"\n[state]\n{state}'
        f'[[projects]]\nref = "{REF}"\ntier = "micro"\nprobes = {{}}\n',
        encoding="utf-8",
    )
    return config


def test_relative_paths_follow_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative ``[state] path`` and ``file:`` secret resolve against the configuration
    file's directory, not the current one."""
    config = config_in(tmp_path / "etc")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config)
    assert tmp_path / "etc" / "state" / "sbwatch.db" == settings.state.sqlite_path()
    assert settings.mgmt_token is not None
    assert "sbp_" + "0" * 40 == settings.mgmt_token.get_secret_value()


@pytest.mark.parametrize("argv", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_store(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A command that only reads the state, pointed at no store, creates none (nor its
    directory) and asks whether this is the daemon's configuration."""
    config = config_in(tmp_path / "etc")
    monkeypatch.chdir(tmp_path)
    assert 1 == main(["--config", str(config), *argv])
    store = tmp_path / "etc" / "state" / "sbwatch.db"
    expected = f"sbwatch: no state at {store}: is this the daemon's configuration?\n"
    assert expected == capsys.readouterr().err
    assert not store.parent.exists()


def test_status_from_another_directory_reads_the_store_beside_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``status`` run elsewhere opens the store the configuration names, says which file it
    read and which store, and, with no daemon seen there, advises starting none."""
    config = config_in(tmp_path / "etc")
    store_path = tmp_path / "etc" / "state" / "sbwatch.db"

    async def create() -> None:
        store = await open_store(load_settings(config).state)
        await store.close()

    asyncio.run(create())
    monkeypatch.chdir(tmp_path)
    code = main(["--config", "etc/config.toml", "status"])
    out = capsys.readouterr().out
    assert 4 == code, out
    assert f"read {config}; state store {store_path}" == out.splitlines()[-1]
    assert "sbwatch run" not in out
    assert out.startswith("no daemon has written to this state store yet")
    assert [store_path.name] == [p.name for p in store_path.parent.glob("*.db")]


@pytest.mark.parametrize(
    ("config_dir", "environ", "expected"),
    [
        # the service: systemd's StateDirectory=sbwatch
        (Path("/etc/sbwatch"), {"STATE_DIRECTORY": "/var/lib/sbwatch"}, "/var/lib/sbwatch"),
        # an operator's shell (sudo, no STATE_DIRECTORY) on the service's configuration
        (Path("/etc/sbwatch"), {"XDG_STATE_HOME": "/root/.local/state"}, "/var/lib/sbwatch"),
        # a configuration of one's own
        (Path("/home/me/sb"), {"XDG_STATE_HOME": "/home/me/.st"}, "/home/me/.st/sbwatch"),
    ],
    ids=["service", "operator", "user"],
)
def test_the_default_store_is_the_services_for_its_configuration(
    config_dir: Path, environ: dict[str, str], expected: str
) -> None:
    """Without ``[state] path``, the configuration in /etc/sbwatch opens the service's store
    from an operator's shell too; another configuration keeps the XDG state directory."""
    assert Path(expected) / "sbwatch.db" == default_state_path(config_dir, environ)
