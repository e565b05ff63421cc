"""DSNs for the tools: the password goes to the environment, never on a command line or in text."""

from __future__ import annotations

import pytest

from sbwatch.backup.dsn import REDACTED, ConnInfo
from sbwatch.backup.dump import Tool, dump_argv, restore_argv
from sbwatch.core.errors import BackupError

DSN = "postgresql://postgres.abc:p%40ss%2Fw0rd@db.example.test:5432/postgres?sslmode=require"


def test_the_password_is_taken_out_of_the_url() -> None:
    """The URL keeps user, host, database and options; the password is decoded apart."""
    info = ConnInfo.parse(DSN)
    expected = "postgresql://postgres.abc@db.example.test:5432/postgres?sslmode=require"
    assert (expected, "p@ss/w0rd") == (info.url, info.password)
    assert {"PGPASSWORD": "p@ss/w0rd"} == info.env()
    assert DSN == info.full


def test_a_password_in_the_query_is_taken_out_too() -> None:
    """``?password=`` is libpq's other place for it."""
    info = ConnInfo.parse("postgresql://u@h/db?password=s3cret&application_name=x")
    assert ("postgresql://u@h/db?application_name=x", "s3cret") == (info.url, info.password)


def test_another_database_on_the_same_server() -> None:
    """with_database swaps the path only."""
    info = ConnInfo.parse(DSN).with_database("sbwatch_verify_x")
    assert "sbwatch_verify_x" == info.database
    assert "p@ss/w0rd" == info.password
    assert info.url.endswith("/sbwatch_verify_x?sslmode=require")


def test_redact_hides_the_plain_and_quoted_password() -> None:
    """Tool output that echoes a password, in either form, is redacted."""
    info = ConnInfo.parse(DSN)
    text = "failed for p@ss/w0rd and p%40ss%2Fw0rd"
    assert f"failed for {REDACTED} and {REDACTED}" == info.redact(text)


def test_no_password_on_the_command_lines() -> None:
    """pg_dump and pg_restore get the URL without the password."""
    info = ConnInfo.parse(DSN)
    tool = Tool("/usr/bin/pg_dump", "15.8", 15)
    argv = dump_argv(tool, info, ["public", 'we"ird'], "custom", "/tmp/x", "0003-1")  # type: ignore[arg-type]  # a str path is fine
    argv += restore_argv(tool, info, "/tmp/x")  # type: ignore[arg-type]  # same
    assert [] == [a for a in argv if "w0rd" in a]
    assert ['--schema="public"', '--schema="we""ird"'] == [a for a in argv if "--schema" in a]


def test_only_urls_are_accepted_and_the_error_shows_none_of_it() -> None:
    """A key=value DSN is refused without echoing it."""
    with pytest.raises(BackupError) as err:
        ConnInfo.parse("host=db password=hunter2")
    assert "hunter2" not in str(err.value)


def test_the_unix_socket_form_survives() -> None:
    """``postgresql:///postgres`` (no host: the local socket) keeps its three slashes."""
    info = ConnInfo.parse("postgresql:///postgres").with_database("scratch")
    assert ("postgresql:///scratch", None) == (info.url, info.password)
