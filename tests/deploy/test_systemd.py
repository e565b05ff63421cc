"""The systemd unit: it verifies, it is hardened, and it matches the config example."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sbwatch.config.settings import load_settings

BINARY = "/usr/local/bin/sbwatch"
SECRETS = {"mgmt_token", "service_key", "db_dsn", "imap_password", "alert_route_url"}


def directives(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment of a unit file, in order."""
    section, out = "", []
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(unit: Path, key: str) -> list[str]:
    """Every value assigned to one key of the [Service] section."""
    return [v for s, k, v in directives(unit) if s == "Service" and k == key]


@pytest.fixture
def unit(root: Path) -> Path:
    """The unit file shipped in systemd/."""
    return root / "systemd" / "sbwatch.service"


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` on one unit file."""
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_unit_verifies(unit: Path, tmp_path: Path) -> None:
    """systemd-analyze verify accepts the unit, with only the binary path pointed at this venv."""
    venv_binary = str(Path(sys.executable).parent / "sbwatch")
    original = unit.read_text(encoding="utf-8")
    copy = tmp_path / "sbwatch.service"
    copy.write_text(original.replace(BINARY, venv_binary), encoding="utf-8")
    changed = [
        (a, b)
        for a, b in zip(original.splitlines(), copy.read_text().splitlines(), strict=True)
        if a != b
    ]
    assert {"ExecStartPre", "ExecStart"} == {a.partition("=")[0] for a, _ in changed}
    proc = verify(copy)
    assert (0, "") == (proc.returncode, proc.stderr.strip())


def test_encrypted_drop_in_verifies(unit: Path, root: Path, tmp_path: Path) -> None:
    """The encrypted-credentials drop-in verifies with the unit and names every secret."""
    venv_binary = str(Path(sys.executable).parent / "sbwatch")
    copy = tmp_path / "sbwatch.service"
    copy.write_text(unit.read_text(encoding="utf-8").replace(BINARY, venv_binary), encoding="utf-8")
    drop_in = root / "systemd" / "credentials-encrypted.conf"
    (tmp_path / "sbwatch.service.d").mkdir()
    (tmp_path / "sbwatch.service.d" / drop_in.name).write_bytes(drop_in.read_bytes())
    proc = verify(copy)
    assert (0, "") == (proc.returncode, proc.stderr.strip())
    encrypted = dict(v.split(":", 1) for v in values(drop_in, "LoadCredentialEncrypted"))
    assert ([""], SECRETS) == (values(drop_in, "LoadCredential"), set(encrypted))
    assert {f"/etc/sbwatch/credentials/{n}.cred" for n in SECRETS} == set(encrypted.values())


def test_verify_reports_unknown_directives(unit: Path, tmp_path: Path) -> None:
    """The verify check is sharp: a misspelt directive shows up on stderr."""
    venv_binary = str(Path(sys.executable).parent / "sbwatch")
    text = unit.read_text(encoding="utf-8").replace(BINARY, venv_binary)
    copy = tmp_path / "sbwatch.service"
    copy.write_text(text.replace("WatchdogSec=", "WatchdogSek="), encoding="utf-8")
    proc = verify(copy)
    assert "Unknown key 'WatchdogSek'" in proc.stderr


def test_security_exposure_at_most_2(unit: Path) -> None:
    """systemd-analyze security rates the unit's exposure at 2.0 or less."""
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for sbwatch\.service: (\d+\.\d)", proc.stdout)
    assert found is not None
    assert (0, True) == (proc.returncode, float(found.group(1)) <= 2.0)


def test_service_contract(unit: Path) -> None:
    """Type=notify with a watchdog, check-config before start, reload by SIGHUP, a state dir."""
    expected = {
        "Type": ["notify"],
        "NotifyAccess": ["main"],
        "ExecStartPre": [f"{BINARY} --config /etc/sbwatch/config.toml check-config"],
        "ExecStart": [f"{BINARY} --config /etc/sbwatch/config.toml run"],
        "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "WatchdogSec": ["60"],
        "Restart": ["on-failure"],
        "StateDirectory": ["sbwatch"],
        "DynamicUser": ["yes"],
        "CapabilityBoundingSet": [""],
        "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"],
    }
    assert expected == {key: values(unit, key) for key in expected}


def test_every_secret_is_a_credential(unit: Path) -> None:
    """Each secret is loaded with LoadCredential= from a root-only file under /etc/sbwatch."""
    loaded = dict(v.split(":", 1) for v in values(unit, "LoadCredential"))
    assert SECRETS == set(loaded)
    assert {f"/etc/sbwatch/credentials/{n}" for n in SECRETS} == set(loaded.values())


def test_config_example_uses_the_credentials(unit: Path, root: Path) -> None:
    """The config example refers to exactly the unit's credentials as "cred:NAME"."""
    text = (root / "systemd" / "config.toml").read_text(encoding="utf-8")
    used = set(re.findall(r'"cred:([a-z_]+)"', text))
    loaded = {v.split(":", 1)[0] for v in values(unit, "LoadCredential")}
    assert loaded == used


def test_config_example_loads(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The config example validates, with secrets read from $CREDENTIALS_DIRECTORY."""
    for name in SECRETS:
        (tmp_path / name).write_text(f"value-of-{name}\n", encoding="utf-8")
    route_url = "ntfys://ntfy.sh/value-of-alert_route_url"  # apprise must accept a route URL
    (tmp_path / "alert_route_url").write_text(route_url, encoding="utf-8")
    dsn = "postgresql://sbwatch:value-of-db_dsn@127.0.0.1:5432/postgres"  # checked as a URL
    (tmp_path / "db_dsn").write_text(dsn, encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    settings = load_settings(root / "systemd" / "config.toml")
    project = settings.projects[0]
    assert settings.mgmt_token is not None
    assert project.service_key is not None
    assert settings.mail.password is not None
    got = (
        settings.mgmt_token.get_secret_value(),
        project.service_key.get_secret_value(),
        settings.mail.password.get_secret_value(),
        settings.alerting.routes[0].url.get_secret_value(),
    )
    expected = tuple(f"value-of-{n}" for n in ("mgmt_token", "service_key", "imap_password"))
    assert (*expected, route_url) == got


def test_docs_use_the_unit_paths(root: Path) -> None:
    """The install guide puts the binary where the unit runs it from."""
    doc = (root / "docs" / "service.md").read_text(encoding="utf-8")
    assert [True, True] == [BINARY in doc, "/etc/sbwatch/credentials" in doc]
