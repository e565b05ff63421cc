"""``sbwatch mail``: classify a saved provider email, or check the configured mailbox."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sbwatch.commands import HELPS
from sbwatch.commands.common import settings_or_exit
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.errors import MailError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import ProviderEmail
from sbwatch.ingest.imap import MailboxReport, MailWatcher
from sbwatch.ingest.parse import (
    DEFAULT_RULE,
    Classification,
    TrustRule,
    explain,
    rule_from_settings,
)
from sbwatch.store import open_store
from sbwatch.watch.provider import matching_refs

NAME = "mail"
HELP = HELPS[NAME]


def configure(parser: argparse.ArgumentParser) -> None:
    """The classify and check sub-subcommands."""
    sub = parser.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    classify = sub.add_parser(
        "classify",
        help="explain how a saved email (.eml) is classified and whether it is trusted",
        description="Explain kind, project ref and trust of an email. Uses mail.trusted_domains, "
        "mail.authserv_id and mail.dkim_keys from --config when given, else the defaults. "
        "Without authserv_id sbwatch verifies the DKIM signature itself (a DNS lookup).",
    )
    classify.add_argument("file", type=Path, help="the raw email (RFC 822 .eml file)")
    classify.add_argument("--json", action="store_true", help="print one JSON object")
    check = sub.add_parser(
        "check",
        help="connect to the configured mailbox and report it",
        description="Connect and log in with the [mail] settings; report UIDVALIDITY, the "
        "message count, IDLE support, the stored cursor and the last classified emails.",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Dispatch to classify or check."""
    if args.mail_command == "classify":
        return _classify(args)
    return _check(args)


def rule_for(settings: Settings | None) -> TrustRule:
    """The trust rule of a configuration, or the defaults."""
    if settings is None:
        return DEFAULT_RULE
    return rule_from_settings(settings.mail)


def _classify(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args, watching=False) if args.config is not None else None
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    found = explain(raw, rule_for(settings), datetime.now(UTC))
    if found is None:
        print(f"{args.file}: not an email", file=sys.stderr)
        return 1
    matched = None if settings is None else configured_matches(settings, found.email)
    if args.json:
        data = _classification_json(found)
        if matched is not None:
            data["matches"] = matched
        print(json.dumps(data, indent=2))
    else:
        _print_classification(found, matched)
    return 0


def configured_matches(settings: Settings, email: ProviderEmail) -> list[str]:
    """The refs of the configured projects an email is about, as the daemon matches them (by
    ref or dashboard link, else by name, else the only project); the daemon also knows the
    names the Management API gives."""
    names = {p.ref: {n.lower() for n in (p.ref, p.name) if n} for p in settings.projects}
    return matching_refs(names, email)


def _email_json(email: ProviderEmail) -> dict[str, Any]:
    data = asdict(email)
    data["received_at"] = email.received_at.isoformat()
    data["kind"] = email.kind.value
    return data


def _classification_json(found: Classification) -> dict[str, Any]:
    return {
        **_email_json(found.email),
        "phrase": found.phrase,
        "ref_source": found.ref_source,
        "auth_headers_used": list(found.auth_headers_used),
        "reasons": list(found.reasons),
    }


def _print_classification(found: Classification, matched: list[str] | None = None) -> None:
    email = found.email
    print(f"kind:        {email.kind.value}")
    print(
        f"project:     {email.project_ref or '-'}"
        + (f"  ({found.ref_source})" if found.ref_source else "")
        + (f"  named {email.project_name!r}" if email.project_name else "")
    )
    if matched is not None:
        said = ", ".join(matched) if matched else "none of the configured projects"
        print(f"matches:     {said}")
    print(f"trusted:     {'yes' if email.trusted else 'NO'} ({email.trust_reason})")
    print(f"from:        {email.sender}")
    print(f"subject:     {email.subject}")
    print(f"received:    {email.received_at.isoformat()}")
    print(f"message-id:  {email.message_id}")
    print("why:")
    for reason in found.reasons:
        print(f"  - {reason}")


def _check(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args, watching=False)
    if not settings.mail.enabled:
        print("mail: not enabled in the configuration ([mail] enabled = true)", file=sys.stderr)
        return 1
    try:
        report = asyncio.run(_report(settings))
    except MailError as exc:
        print(f"mail check failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        data = asdict(report)
        data["recent"] = [_email_json(e) for e in report.recent]
        print(json.dumps(data, indent=2, default=str))
    else:
        _print_report(report)
    return 0


async def _report(settings: Settings) -> MailboxReport:
    store = await open_store(settings.state)
    try:
        watcher = MailWatcher(
            settings.mail, store, clock=SystemClock(), metrics=Metrics(),
            on_email=_ignore, rule=rule_for(settings),
        )  # fmt: skip
        return await watcher.check()
    finally:
        await store.close()


async def _ignore(email: ProviderEmail) -> None:
    """check() delivers nothing."""


def _print_report(report: MailboxReport) -> None:
    print(f"mailbox:     {report.username}@{report.host} {report.mailbox}")
    print(
        f"messages:    {report.messages} "
        f"(UIDVALIDITY {report.uidvalidity}, UIDNEXT {report.uidnext})"
    )
    print(f"idle:        {'yes' if report.idle else 'no (polling)'}")
    cursor = None if report.cursor is None else report.cursor.to_doc()
    print(f"cursor:      {cursor if cursor else 'none yet (starts at the newest message)'}")
    print(f"recent:      {len(report.recent)} classified email(s) in 30 days")
    for email in report.recent:
        trust = "trusted" if email.trusted else "untrusted"
        print(
            f"  {email.received_at:%Y-%m-%d %H:%M} {email.kind.value} "
            f"{email.project_ref or '-'} {trust}"
        )
