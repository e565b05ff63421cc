"""The daemon's side of the Acknowledge buttons: the links it signs and the POSTs it takes."""

from __future__ import annotations

import asyncio

from sbwatch.alerting.ack_link import AckLinks, Answer, take
from sbwatch.config.settings import Settings
from sbwatch.core.clock import Clock
from sbwatch.daemon.page import threadsafe
from sbwatch.daemon.web import AckHandler
from sbwatch.store import Store


def ack_links(settings: Settings) -> AckLinks | None:
    """The links' address and secret, when ``public_url`` (and so ``ack_secret``) is set."""
    alerting = settings.alerting
    if alerting.public_url is None or alerting.ack_secret is None:
        return None
    return AckLinks(alerting.public_url, alerting.ack_secret.get_secret_value())


def ack_handler(
    store: Store, settings: Settings, clock: Clock, loop: asyncio.AbstractEventLoop
) -> AckHandler | None:
    """The HTTP server's handler of ``/ack/...`` POSTs, run on the daemon's loop (the store
    is that loop's); None when no links are sent."""
    links = ack_links(settings)
    if links is None:
        return None
    secret = links.secret

    async def acknowledge(path: str) -> Answer:
        return await take(store, secret, path, clock.now())

    return threadsafe(acknowledge, loop)
