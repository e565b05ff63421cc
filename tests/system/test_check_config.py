"""``sbwatch check-config`` on broken files: every problem, located by key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbwatch.cli import main

from .conftest import child_env, run_cli

GOOD = """\
log_level = "info"
mgmt_api_url = "https://api.supabase.com"
mgmt_token = "sbp_0123456789abcdef"

[state]
backend = "sqlite"

[[projects]]
ref = "abcdefghijklmnopqrst"
service_key = "service-key"
db_dsn = "postgresql://postgres@127.0.0.1:5432/postgres"
probes.rest = { interval = "30s" }
probes.auth = { interval = "30s" }
probes.mgmt_health = { interval = "1m" }

[metrics]
port = 9464

[mail]
enabled = false
host = "127.0.0.1"

[alerting]
min_duration = "2m"

[[alerting.routes]]
name = "phone"
url = "ntfy://ntfy.sh/sbwatch-test"
severities = ["critical"]
"""

# (test id, (old, new) replacements applied to GOOD, expected line in the output)
BROKEN: list[tuple[str, list[tuple[str, str]], str]] = [
    (
        "typo key",
        [('log_level = "info"', 'log_levle = "info"')],
        "log_levle (line 1): Extra inputs are not permitted",
    ),
    (
        "bad duration",
        [('probes.rest = { interval = "30s" }', 'probes.rest = { interval = "5 minutes" }')],
        "projects[0].probes.rest.interval (line 12):",
    ),
    (
        "bare number duration",
        [('min_duration = "2m"', "min_duration = 120")],
        "alerting.min_duration (line 24): invalid duration 120: write it with a unit, like '120s'",
    ),
    (
        "missing secret for a probe",
        [('service_key = "service-key"\n', "")],
        "projects[0].service_key (line 8): required by the rest probe",
    ),
    (
        "unknown probe kind",
        [('probes.auth = { interval = "30s" }', 'probes.smtp = { interval = "30s" }')],
        "projects[0].probes.smtp (line 13): Input should be 'db'",
    ),
    (
        "bad ref",
        [('ref = "abcdefghijklmnopqrst"', 'ref = "ABC"')],
        "projects[0].ref (line 9): String should match pattern",
    ),
    (
        "port out of range",
        [("port = 9464", "port = 70000")],
        "metrics.port (line 17): Input should be less than or equal to 65535",
    ),
    (
        "plain IMAP to a remote host",
        [('enabled = false\nhost = "127.0.0.1"', 'security = "plain"\nhost = "imap.example.com"')],
        "mail (line 19): security = 'plain' is only allowed for a loopback host",
    ),
    (
        "postgres state without dsn",
        [('backend = "sqlite"', 'backend = "postgres"')],
        "state (line 5): dsn is required when backend = 'postgres'",
    ),
    (
        "cred reference without CREDENTIALS_DIRECTORY",
        [('service_key = "service-key"', 'service_key = "cred:service_key"')],
        "projects[0].service_key (line 10): credential 'service_key' requested but "
        "$CREDENTIALS_DIRECTORY is not set",
    ),
    (
        "env reference to an unset variable",
        [('mgmt_token = "sbp_0123456789abcdef"', 'mgmt_token = "env:SBWATCH_TEST_UNSET_TOKEN"')],
        "mgmt_token (line 3): environment variable 'SBWATCH_TEST_UNSET_TOKEN' is not set",
    ),
    (
        "bad route name",
        [('name = "phone"', 'name = "My Phone"')],
        "alerting.routes[0].name (line 27): String should match pattern",
    ),
    (
        "bad severity",
        [('severities = ["critical"]', 'severities = ["urgent"]')],
        "alerting.routes[0].severities[0] (line 29): Input should be",
    ),
    (
        "duplicate project ref",
        [
            (
                "\n[metrics]",
                '\n[[projects]]\nref = "abcdefghijklmnopqrst"\nprobes = {}\n\n[metrics]',
            )
        ],
        "projects[1].ref (line 17): duplicate project ref 'abcdefghijklmnopqrst'",
    ),
    (
        "bad url",
        [('mgmt_api_url = "https://api.supabase.com"', 'mgmt_api_url = "api.supabase.com"')],
        "mgmt_api_url (line 2): String should match pattern",
    ),
    (
        "negative cost cap",
        [
            (
                "\n[metrics]",
                "\n[projects.escalation]\nmonthly_cost_cap_usd = -5.0\n\n[metrics]",
            )
        ],
        "projects[0].escalation.monthly_cost_cap_usd (line 17): "
        "Input should be greater than or equal to 0",
    ),
    (
        "toml syntax error",
        [('log_level = "info"', 'log_level = "info')],
        "toml: ",
    ),
    (
        "unknown tier",
        [('ref = "abcdefghijklmnopqrst"', 'ref = "abcdefghijklmnopqrst"\ntier = "mega"')],
        "projects[0].tier (line 10): Input should be",
    ),
    (
        "comment after an array-of-tables header",
        [
            ("[[alerting.routes]]", "[[alerting.routes]]   # the phone, [critical] only"),
            ('severities = ["critical"]', 'severities = ["urgent"]'),
        ],
        "alerting.routes[0].severities[0] (line 29): Input should be",
    ),
    (
        "comment after a table header",
        [
            ("[mail]", "[mail]    # the provider's [warnings] arrive here"),
            ('host = "127.0.0.1"', 'hots = "127.0.0.1"'),
        ],
        "mail.hots (line 21): Extra inputs are not permitted",
    ),
    (
        "second of two routes",
        [
            (
                'severities = ["critical"]',
                'severities = ["critical"]\n\n[[alerting.routes]]  # chat\nname = "Chat"',
            )
        ],
        "alerting.routes[1].name (line 32): String should match pattern",
    ),
    (
        "unknown state backend",
        [('backend = "sqlite"', 'backend = "mysql"')],
        "state.backend (line 6): Input should be 'sqlite' or 'postgres'",
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _broken(replacements: list[tuple[str, str]]) -> str:
    text = GOOD
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_good_config_passes(tmp_path: Path) -> None:
    """The base configuration of the table is valid."""
    done = run_cli("--config", str(_write(tmp_path, GOOD)), "check-config")
    assert (0, "configuration ok: 1 project(s)\n", "") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )


@pytest.mark.parametrize(
    ("replacements", "expected"),
    [pytest.param(r, e, id=i) for i, r, e in BROKEN],
)
def test_broken_config_is_rejected_with_location(
    replacements: list[tuple[str, str]],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broken configuration exits 1 naming the key and line of the problem."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("SBWATCH_TEST_UNSET_TOKEN", raising=False)
    path = _write(tmp_path, _broken(replacements))
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(path), "check-config"])
    lines = capsys.readouterr().err.splitlines()
    assert (1, True) == (exited.value.code, any(line.startswith(expected) for line in lines)), lines


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several problems in one file are all listed in one run."""
    text = _broken(
        [
            ('log_level = "info"', 'log_levle = "info"'),
            ("port = 9464", "port = -1"),
            ('name = "phone"', 'name = "My Phone"'),
            ('probes.rest = { interval = "30s" }', 'probes.rest = { interval = "5 minutes" }'),
        ]
    )
    done = run_cli("--config", str(_write(tmp_path, text)), "check-config")
    starts = sorted(line.split(" (line")[0] for line in done.stderr.splitlines())
    expected = sorted(
        ["log_levle", "metrics.port", "alerting.routes[0].name", "projects[0].probes.rest.interval"]
    )
    assert (1, expected) == (done.returncode, starts)


def test_cred_reference_reads_credentials_directory(tmp_path: Path) -> None:
    """``cred:NAME`` reads $CREDENTIALS_DIRECTORY/NAME; a missing file is a located error."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "service_key").write_text("from-credential-file\n", encoding="utf-8")
    text = _broken([('service_key = "service-key"', 'service_key = "cred:service_key"')])
    config = str(_write(tmp_path, text))
    env = child_env(CREDENTIALS_DIRECTORY=str(credentials))
    done = run_cli("--config", config, "check-config", env=env)
    assert (0, "configuration ok: 1 project(s)\n") == (done.returncode, done.stdout)

    (credentials / "service_key").unlink()
    missing = run_cli("--config", config, "check-config", env=env)
    assert (1, True) == (
        missing.returncode,
        missing.stderr.startswith(
            "projects[0].service_key (line 10): credential 'service_key' cannot be read"
        ),
    ), missing.stderr
