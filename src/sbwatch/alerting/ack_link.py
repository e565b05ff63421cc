"""The Acknowledge button of an ntfy message: a link that takes one open alert on the daemon.

Where ``[alerting] public_url`` (the daemon's address as the phone reaches it) and
``ack_secret`` are set, each message of an open alert sent through an ntfy route carries an
ntfy ``http`` action: a POST to ``{public_url}/ack/{route}/{alert}/{token}``. The token is an
HMAC of the route, the alert's key and the moment it opened under ``ack_secret``: it names
that one alert (a later alert of the same key needs a new link), cannot be forged without the
secret, and is the only secret the link carries (never ``ack_secret``, never a route URL).
apprise's ntfy plugin sends it as the ``X-Actions`` header (its ``actions=`` URL argument).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sbwatch.alerting.incidents import record_ack
from sbwatch.alerting.words import (
    ACK_LABEL,
    ACK_REFUSED,
    NO_ACK_LINK,
    ack_before,
    ack_closed,
    ack_taken,
    acked_by_button,
)
from sbwatch.core.log import get_logger
from sbwatch.core.oncall import Ack
from sbwatch.core.results import Alert
from sbwatch.core.subjects import AlertKey
from sbwatch.store.base import Store

ACK_PATH = "/ack/"
NTFY_SCHEMES = frozenset({"ntfy", "ntfys"})
TOKEN_HEX = 32
"""128 bits of the HMAC: enough that guessing a link is hopeless."""

log = get_logger("alerting.ack")


@dataclass(frozen=True)
class AckLinks:
    """Where the daemon is reached and the secret its links are signed with."""

    public_url: str
    secret: str

    def url(self, route: str, alert: Alert) -> str:
        """The link that acknowledges ``alert`` on behalf of ``route``'s person."""
        ident = _encode(f"{alert.key}\n{alert.opened_at.isoformat()}")
        token = token_of(self.secret, route, alert.key, alert.opened_at)
        return f"{self.public_url.rstrip('/')}{ACK_PATH}{route}/{ident}/{token}"


def token_of(secret: str, route: str, key: str, opened_at: datetime) -> str:
    """The token of one alert's link: an HMAC-SHA256 of what the link names."""
    said = f"{route}\n{key}\n{opened_at.isoformat()}".encode()
    return hmac.new(secret.encode(), said, hashlib.sha256).hexdigest()[:TOKEN_HEX]


def is_ntfy(url: str) -> bool:
    """Whether an apprise URL is an ntfy route (the one kind whose messages carry buttons)."""
    return urlsplit(url).scheme.lower() in NTFY_SCHEMES


def with_ack_button(route_url: str, link: str) -> str:
    """The ntfy route URL with an Acknowledge button posting to ``link`` (replacing any
    ``actions`` the URL had: at most three are allowed, and this one matters)."""
    action = f"http, {ACK_LABEL}, {link}, method=POST, clear=true"
    parts = urlsplit(route_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "actions"]
    query.append(("actions", action))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers: an HTTP status and a line for the person."""

    status: int
    text: str


async def take(store: Store, secret: str, path: str, now: datetime) -> Answer:
    """Acknowledge the alert an ``/ack/...`` link names, when its token is right."""
    parsed = _parse(path)
    if parsed is None:
        return Answer(404, NO_ACK_LINK)
    route, key, opened_at, token = parsed
    if not hmac.compare_digest(token, token_of(secret, route, key, opened_at)):
        log.warning("acknowledgement refused", reason="bad token")
        return Answer(403, ACK_REFUSED)
    project = AlertKey.parse(key).project
    found = [a for a in await store.open_alerts(project) if a.key == key]
    alert = next((a for a in found if a.opened_at == opened_at), None)
    if alert is None:
        return Answer(410, ack_closed(key))
    taken = await ack_of(store, alert)
    if taken is not None:
        return Answer(200, ack_before(key, taken.acked_by))
    who = acked_by_button(route)
    ack = await store.ack_alert(key, project, opened_at, now, who)
    await record_ack(store, alert, ack)
    log.info("alert acknowledged", key=key, by=who)
    return Answer(200, ack_taken(key, alert.title))


async def ack_of(store: Store, alert: Alert) -> Ack | None:
    """The acknowledgement of this alert (this key, opened then), if someone took it."""
    mine = (alert.key, alert.opened_at)
    return next(
        (a for a in await store.acks(alert.project) if (a.alert_key, a.opened_at) == mine), None
    )


def _parse(path: str) -> tuple[str, str, datetime, str] | None:
    """``/ack/{route}/{alert}/{token}`` as (route, key, opened_at, token), or None."""
    if not path.startswith(ACK_PATH):
        return None
    parts = path[len(ACK_PATH) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    route, ident, token = parts
    try:
        key, _, opened = _decode(ident).partition("\n")
        opened_at = datetime.fromisoformat(opened)
    except (ValueError, binascii.Error):
        return None
    if opened_at.tzinfo is None or not key:
        return None
    return route, key, opened_at, token


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(ident: str) -> str:
    return base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode()
