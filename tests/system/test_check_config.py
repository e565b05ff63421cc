"""``sbwatch check-config`` on broken files: every problem, located by key and line."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from sbwatch.cli import main

from .conftest import child_env, run_cli, sbwatch_argv

GOOD = """\
log_level = "info"
mgmt_api_url = "https://api.supabase.com"
mgmt_token = "sbp_3c6bec191bb0ee718e232660a529df99e882a99d"

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
        "log_levle (line 1): unknown key 'log_levle'; did you mean 'log_level'?",
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
        [
            (
                'mgmt_token = "sbp_3c6bec191bb0ee718e232660a529df99e882a99d"',
                'mgmt_token = "env:SBWATCH_TEST_UNSET_TOKEN"',
            )
        ],
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
        "{file} (line 1): invalid TOML: ",
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
        "mail.hots (line 21): unknown key 'hots'; did you mean 'host'?",
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
        "unknown key with no close match",
        [("[metrics]", "[metrics]\nwobble = 1")],
        "metrics.wobble (line 17): unknown key 'wobble'",
    ),
    (
        "typo in a project's probe table",
        [('probes.auth = { interval = "30s" }', 'probes.auth = { intervall = "30s" }')],
        "projects[0].probes.auth.intervall (line 13): unknown key 'intervall'; "
        "did you mean 'interval'?",
    ),
    (
        "typo in a top-level table name",
        [("[metrics]", "[metrix]")],
        "metrix (line 16): unknown key 'metrix'; did you mean 'metrics'?",
    ),
    (
        "route scheme apprise does not know",
        [('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "foo://token-abc@example.org/x"')],
        "alerting.routes[0].url (line 28): apprise does not know the scheme 'foo://'",
    ),
    (
        "route url apprise cannot use",
        [('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "tgram://bad"')],
        "alerting.routes[0].url (line 28): apprise cannot use this tgram:// URL",
    ),
    (
        "ntfy route without a topic",
        [('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "ntfys://ntfy.sh"')],
        "alerting.routes[0].url (line 28): this ntfys:// URL names no topic",
    ),
    (
        "route url without a scheme",
        [('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "ntfy.sh/sbwatch-test"')],
        "alerting.routes[0].url (line 28): not an apprise URL",
    ),
    (
        "auto escalation without a token",
        [
            ('mgmt_token = "sbp_3c6bec191bb0ee718e232660a529df99e882a99d"\n', ""),
            ('probes.mgmt_health = { interval = "1m" }', 'escalation = { mode = "auto" }'),
        ],
        "projects[0].mgmt_token (line 7): required by escalation mode 'auto'",
    ),
    (
        "heartbeat that is no http url",
        [('min_duration = "2m"', 'min_duration = "2m"\nheartbeat_url = "hc.example.org/ping"')],
        "alerting.heartbeat_url (line 25): must be an http:// or https:// URL",
    ),
    (
        "empty file",
        [(GOOD, "")],
        "{file}: empty; start from config.example.toml",
    ),
    (
        "comments only",
        [(GOOD, "# nothing yet\n")],
        "{file}: empty; start from config.example.toml",
    ),
    (
        "no project",
        [(GOOD[GOOD.index("[[projects]]") : GOOD.index("[metrics]")], "")],
        "projects: no [[projects]] table: there is nothing to watch",
    ),
    (
        "no project, among other problems",
        [
            (GOOD[GOOD.index("[[projects]]") : GOOD.index("[metrics]")], ""),
            ("port = 9464", "port = -1"),
        ],
        "projects: no [[projects]] table: there is nothing to watch",
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
    code = main(["--config", str(path), "check-config"])
    lines = capsys.readouterr().err.splitlines()
    expected = expected.replace("{file}", str(path))
    assert (1, True) == (code, any(line.startswith(expected) for line in lines)), lines


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


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_file_can_be_named_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config before or after check-config, -c, and a bare FILE all check the same file."""
    path = str(_write(tmp_path, GOOD))
    forms = [
        ["--config", path, "check-config"],
        ["check-config", "--config", path],
        ["-c", path, "check-config"],
        ["check-config", "-c", path],
        ["check-config", path],
        ["--config", path, "check-config", path],
    ]
    ok = (0, "configuration ok: 1 project(s)\n", "")
    assert [ok] * len(forms) == [_check(capsys, *form) for form in forms]


def test_two_different_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naming one file with --config and another as FILE is a usage error, not a guess."""
    path = _write(tmp_path, GOOD)
    code, out, err = _check(capsys, "--config", str(path), "check-config", str(tmp_path / "b"))
    assert (2, "", "check-config: give the file once, as FILE or as --config FILE\n") == (
        code,
        out,
        err,
    )


def test_no_route_is_a_warning_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without alert routes the file is valid (exit 0), and check-config says alerts go nowhere."""
    text = GOOD[: GOOD.index("[[alerting.routes]]")]
    code, out, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (0, "configuration ok: 1 project(s)\n") == (code, out)
    assert (
        "warning: alerting.routes (line 23): no [[alerting.routes]]: alerts will go nowhere\n"
        == err
    )


MAIL_ON = (
    'enabled = false\nhost = "127.0.0.1"',
    'enabled = true\nhost = "127.0.0.1"\npassword = "pw"',
)


def test_mail_trust_rule_is_dkim_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With mail on and no authserv_id, check-config says sbwatch verifies DKIM, and warns not."""
    code, out, err = _check(capsys, "check-config", str(_write(tmp_path, _broken([MAIL_ON]))))
    expected = (
        "configuration ok: 1 project(s)\n"
        "mail: emails trusted by DKIM signatures verified by sbwatch, "
        "d= in supabase.com, supabase.io\n"
    )
    assert (0, expected, "") == (code, out, err)


def test_mail_trust_by_authserv_id_is_said_and_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With authserv_id, check-config names that server's header rule and warns it rests on it."""
    text = _broken([MAIL_ON, ("[alerting]", 'authserv_id = "mx.example.net"\n\n[alerting]')])
    code, out, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    line = (
        "mail: emails trusted by Authentication-Results from authserv-id mx.example.net "
        "(DKIM or SPF pass for supabase.com, supabase.io)\n"
    )
    assert (0, True) == (code, out.endswith(line))
    assert err.startswith(
        "warning: mail.authserv_id (line 24): emails are trusted on the Authentication-Results"
        " header of mx.example.net alone, not on a signature sbwatch verified"
    ), err


def test_pinned_dkim_keys_are_warned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Keys pinned in mail.dkim_keys are valid, but warned about: they replace DNS."""
    pin = 'dkim_keys = { "s._domainkey.supabase.com" = "v=DKIM1; k=rsa; p=AAAA" }'
    text = _broken([MAIL_ON, ("[alerting]", f"{pin}\n\n[alerting]")])
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (0, True) == (
        code,
        err.startswith(
            "warning: mail.dkim_keys (line 24): DKIM keys pinned in the configuration replace DNS "
            "for s._domainkey.supabase.com"
        ),
    ), err


def test_no_route_for_criticals_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Routes that all refuse criticals are valid but warned about."""
    text = _broken([('severities = ["critical"]', 'severities = ["info"]')])
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (
        0,
        "warning: alerting.routes (line 23): no route takes critical alerts: they will go"
        " nowhere\n",
    ) == (
        code,
        err,
    )


@pytest.mark.parametrize(
    "url",
    [
        "foo://sekrit-token-abc@example.org/topic",
        "tgram://sekrit-token-abc",
        "sekrit-token-abc",
        "https//sekrit-token-abc",
    ],
)
def test_a_route_url_is_never_printed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A route URL apprise refuses is reported by its place, never by its text (a secret)."""
    text = _broken([('url = "ntfy://ntfy.sh/sbwatch-test"', f'url = "{url}"')])
    code, out, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (1, True, False) == (
        code,
        err.startswith("alerting.routes[0].url (line 28): "),
        "sekrit" in out + err,
    ), err


def test_a_route_url_from_a_credential_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL behind a "cred:" reference is read and checked like one written in the file."""
    (tmp_path / "phone_url").write_text("foo://sekrit@example.org\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    text = _broken([('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "cred:phone_url"')])
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (1, "alerting.routes[0].url (line 28): apprise does not know the scheme 'foo://'\n") == (
        code,
        err,
    )


def test_secrets_of_features_that_are_off_are_not_demanded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mail off, SQLite state and a disabled db probe: their unreadable secrets are no error."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("SBWATCH_TEST_UNSET_DSN", raising=False)
    text = _broken(
        [
            ('host = "127.0.0.1"', 'host = "127.0.0.1"\npassword = "cred:imap_password"'),
            ('backend = "sqlite"', 'backend = "sqlite"\ndsn = "env:SBWATCH_TEST_UNSET_DSN"'),
            (
                'db_dsn = "postgresql://postgres@127.0.0.1:5432/postgres"',
                'db_dsn = "cred:db_dsn"\nprobes.db = { enabled = false }',
            ),
        ]
    )
    path = str(_write(tmp_path, text))
    assert (0, "configuration ok: 1 project(s)\n", "") == _check(capsys, "check-config", path)

    enabled = text.replace("enabled = false\n", "enabled = true\n", 1)
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, enabled)))
    assert (
        1,
        [
            "mail.password (line 24): credential 'imap_password' requested but "
            "$CREDENTIALS_DIRECTORY is not set"
        ],
    ) == (code, err.splitlines())


def test_no_secrets_checks_references_without_reading_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-secrets accepts unreadable references but still checks a route URL written out."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    text = _broken(
        [
            ('service_key = "service-key"', 'service_key = "cred:service_key"'),
            ('url = "ntfy://ntfy.sh/sbwatch-test"', 'url = "cred:phone_url"'),
        ]
    )
    path = str(_write(tmp_path, text))
    assert (0, "configuration ok: 1 project(s) (secrets not read)\n", "") == _check(
        capsys, "check-config", "--no-secrets", path
    )
    assert 1 == _check(capsys, "check-config", path)[0]
    literal = text.replace('url = "cred:phone_url"', 'url = "foo://x"')
    code, _, err = _check(capsys, "check-config", "--no-secrets", str(_write(tmp_path, literal)))
    assert (1, "alerting.routes[0].url (line 28): apprise does not know the scheme 'foo://'\n") == (
        code,
        err,
    )


REPO = Path(__file__).resolve().parents[2]


def test_the_command_in_the_example_header_works_as_written() -> None:
    """The check command quoted at the top of config.example.toml passes, run as written."""
    header = (REPO / "config.example.toml").read_text(encoding="utf-8").split("\n\n", 1)[0]
    commands = re.findall(r"`(sbwatch [^`]+)`", header)
    assert ["sbwatch check-config"] == [c[: len("sbwatch check-config")] for c in commands[:1]]
    done = subprocess.run(
        sbwatch_argv(*shlex.split(commands[0])[1:]),
        cwd=REPO,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=20,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr), done.stdout


def test_the_example_passes_the_full_check_with_its_credentials(tmp_path: Path) -> None:
    """config.example.toml passes the full check once its credentials exist (secrets read)."""
    values = {
        "mgmt_token": "sbp_ddfb45d3ab0e0bccbfe89c49e8e7212f77b45a21",
        "db_dsn": "postgresql://postgres@127.0.0.1:5432/postgres",
        "service_key": "service-key",
        "phone_url": "ntfys://ntfy.sh/my-private-topic",
        "chat_url": "slack://TokenA/TokenB/TokenC/#ops",
    }
    for name, value in values.items():
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    env = child_env(CREDENTIALS_DIRECTORY=str(tmp_path))
    done = run_cli("check-config", str(REPO / "config.example.toml"), env=env)
    assert (0, "configuration ok: 1 project(s)\n", "") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )


def test_an_unreadable_ca_file_is_a_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With mail on, a ca_file that is not there is reported before the daemon would fail."""
    missing = tmp_path / "missing-ca.pem"
    text = _broken(
        [
            (
                'enabled = false\nhost = "127.0.0.1"',
                f'enabled = true\nhost = "127.0.0.1"\npassword = "x"\nca_file = "{missing}"',
            )
        ]
    )
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (1, f"mail.ca_file (line 23): cannot read {missing}\n") == (code, err)


def test_a_project_that_runs_no_probe_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lone [projects.probes.db] enabled = false names the only probe table: none runs."""
    listed = 'probes.rest = { interval = "30s" }\nprobes.auth = { interval = "30s" }\n'
    listed += 'probes.mgmt_health = { interval = "1m" }\n'
    text = GOOD.replace(listed, "probes.db = { enabled = false }\n")
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (0, True) == (
        code,
        "warning: projects[0].probes (line 8): no probe runs for abcd" in err,
    ), err


@pytest.mark.parametrize(
    ("escalation", "said"),
    [
        (
            'max_tier = "large", monthly_cost_cap_usd = 30',
            "warning: projects[0].escalation.max_tier (line 15): large costs $110.00/month, over"
            " monthly_cost_cap_usd ($30.00): sbwatch raises to small at most; raise the cap or"
            " lower max_tier",
        ),
        ('max_tier = "medium", monthly_cost_cap_usd = 60', None),
        ('mode = "off", max_tier = "large", monthly_cost_cap_usd = 30', None),
    ],
)
def test_a_max_tier_over_the_cost_cap_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], escalation: str, said: str | None
) -> None:
    """max_tier = "large" under a $30 cap: the cap wins, and check-config says where it stops;
    a cap that holds max_tier, or escalation off, says nothing."""
    text = GOOD.replace(
        'probes.mgmt_health = { interval = "1m" }\n',
        f'probes.mgmt_health = {{ interval = "1m" }}\nescalation = {{ {escalation} }}\n',
    )
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    assert (0, [said] if said else []) == (code, err.splitlines()), err


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("*/20 * * * *", "runs every 20m"),
        ("15,45 3 * * *", "runs every 30m"),
        ("0 * * * *", None),
        ("30 3 * * *", None),
    ],
)
def test_a_backup_more_often_than_hourly_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schedule: str, said: str | None
) -> None:
    """Each backup dumps the whole database: a schedule tighter than hourly is warned."""
    text = GOOD.replace(
        'probes.mgmt_health = { interval = "1m" }\n',
        'probes.mgmt_health = { interval = "1m" }\n'
        f'backup = {{ schedule = "{schedule}", dir = "{tmp_path}" }}\n',
    )
    code, _, err = _check(capsys, "check-config", str(_write(tmp_path, text)))
    warned = [line.split(", more often")[0] for line in err.splitlines() if "schedule" in line]
    expected = [f"warning: projects[0].backup.schedule (line 15): {said}"] if said else []
    assert (0, expected) == (code, warned), err
