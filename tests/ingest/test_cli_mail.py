"""``sbwatch mail classify`` prints the verdict and its reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sbwatch.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "emails"


def test_classify_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives kind, ref, trust and reasons; unsigned, the email is untrusted by default."""
    code = main(["mail", "classify", "--json", str(CORPUS / "io_budget_warning.eml")])
    data = json.loads(capsys.readouterr().out)
    assert (0, "io_budget_warning", "kqwmzrtplvbnhxcydsfa", False, "no DKIM signature") == (
        code,
        data["kind"],
        data["project_ref"],
        data["trusted"],
        data["trust_reason"],
    )


def test_classify_with_authserv_id_trusts_that_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With mail.authserv_id configured, that server's Authentication-Results decides."""
    config = tmp_path / "config.toml"
    config.write_text('[mail]\nauthserv_id = "mx.example.net"\n')
    email = str(CORPUS / "io_budget_warning.eml")
    main(["--config", str(config), "mail", "classify", "--json", email])
    assert True is json.loads(capsys.readouterr().out)["trusted"]


def test_classify_text_explains_untrusted(capsys: pytest.CaptureFixture[str]) -> None:
    """The text output says why a spoofed email is untrusted."""
    code = main(["mail", "classify", str(CORPUS / "spoofed_dkim_fail.eml")])
    out = capsys.readouterr().out
    assert (0, True, True) == (code, "trusted:     NO" in out, "dkim=fail" in out)


def test_classify_uses_config_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --config the configured trusted domains decide."""
    config = tmp_path / "config.toml"
    config.write_text('[mail]\ntrusted_domains = ["example.org"]\nauthserv_id = "mx.example.net"\n')
    main(["--config", str(config), "mail", "classify", "--json", str(CORPUS / "unrelated.eml")])
    assert True is json.loads(capsys.readouterr().out)["trusted"]


def test_classify_not_an_email(tmp_path: Path) -> None:
    """A file that is not an email exits 1."""
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"")
    assert 1 == main(["mail", "classify", str(junk)])


NAMED = """\
From: Supabase <no-reply@supabase.com>
To: ops@example.com
Subject: Your Supabase Project is depleting its Disk IO Budget
Date: Tue, 26 May 2026 08:00:00 +0000
Message-ID: <named-1@supabase.com>
Content-Type: text/plain; charset=utf-8

Your project job-hunter-team is depleting its Disk IO Budget.
"""


def test_classify_with_config_names_the_matching_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --config, an email naming the project by name (no ref) is matched to the
    configured project's ref as the daemon matches it; a name no project has matches none."""
    email = tmp_path / "named.eml"
    email.write_text(NAMED)
    config = tmp_path / "config.toml"
    project = (
        '[[projects]]\nref = "{ref}"\nname = "{name}"\nurl = "https://{ref}.supabase.co"\n'
        'service_key = "k"\ndb_dsn = "postgresql://postgres@127.0.0.1:5432/postgres"\n'
    )
    config.write_text(
        f'mgmt_token = "sbp_{"ab" * 20}"\n'
        + project.format(ref="kqwmzrtplvbnhxcydsfa", name="job-hunter-team")
        + project.format(ref="abcdefghijklmnopqrst", name="other")
    )
    assert 0 == main(["--config", str(config), "mail", "classify", "--json", str(email)])
    data = json.loads(capsys.readouterr().out)
    assert (None, "job-hunter-team", ["kqwmzrtplvbnhxcydsfa"]) == (
        data["project_ref"],
        data["project_name"],
        data["matches"],
    )
    main(["--config", str(config), "mail", "classify", str(email)])
    assert "matches:     kqwmzrtplvbnhxcydsfa" in capsys.readouterr().out
    email.write_text(NAMED.replace("job-hunter-team", "someone-else"))
    main(["--config", str(config), "mail", "classify", str(email)])
    assert "matches:     none of the configured projects" in capsys.readouterr().out


def test_classify_prints_no_terminal_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ESC, BEL and other controls in the subject, sender and Message-ID never reach the
    terminal: `mail classify` prints the text around them, in both outputs."""
    raw = (
        b"From: \x1b]0;owned\x07 <a\x1b[2J@evil.example>\r\n"
        b"Subject: Your project \x1b[31mhas depleted\x1b[0m its Disk IO Budget\x07\x08\r\n"
        b"Message-ID: <m\x1b[1A@evil.example>\r\n\r\nbody\r\n"
    )
    email = tmp_path / "controls.eml"
    email.write_bytes(raw)
    assert 0 == main(["mail", "classify", str(email)])
    assert 0 == main(["mail", "classify", "--json", str(email)])
    out = capsys.readouterr().out
    controls = sorted({c for c in out if (ord(c) < 32 and c not in "\n ") or 0x7F <= ord(c) < 0xA0})
    assert ([], True) == (controls, "subject:     Your project [31mhas depleted[0m its" in out)
