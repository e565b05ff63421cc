"""One IMAP session over aioimaplib: TLS/STARTTLS, login, select, search, fetch, IDLE.

Every library and socket failure is mapped here, once, to ``MailError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

from sbwatch.config.settings import MailSettings
from sbwatch.core.errors import MailError

T = TypeVar("T")
_FETCH = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_CODE = re.compile(rb"\[(UIDVALIDITY|UIDNEXT) (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
LIBRARY_ERRORS = (aioimaplib.AioImapException, OSError, ssl.SSLError, TimeoutError, ValueError)


def ssl_context(settings: MailSettings) -> ssl.SSLContext:
    """Verifying by default (system CAs or ``ca_file``); unverified only when configured."""
    if not settings.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = str(settings.ca_file) if settings.ca_file else None
    return ssl.create_default_context(cafile=cafile)


@dataclass(frozen=True, slots=True)
class Selected:
    """What SELECT/EXAMINE said about the mailbox."""

    uidvalidity: int
    uidnext: int
    messages: int


class ImapSession:
    """A connected, logged-in IMAP client; ``close()`` always releases the socket."""

    def __init__(self, settings: MailSettings, timeout_s: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout_s
        self._lost = asyncio.Event()
        self._client: Any = None

    @property
    def alive(self) -> bool:
        """False once the server dropped the connection."""
        return not self._lost.is_set()

    @property
    def supports_idle(self) -> bool:
        """Whether the server announced IDLE."""
        return bool(self._client is not None and self._client.has_capability("IDLE"))

    async def connect(self) -> None:
        """Connect (TLS, STARTTLS or loopback plain) and log in; MailError otherwise."""
        s = self._settings
        context = ssl_context(s) if s.security == "tls" else None
        try:
            self._client = aioimaplib.IMAP4(
                s.host,
                s.port,
                timeout=self._timeout,
                conn_lost_cb=self._on_lost,
                ssl_context=context,
            )
            await self._client.wait_hello_from_server()
            if s.security == "starttls":
                await self._starttls(ssl_context(s))
        except LIBRARY_ERRORS as exc:
            raise MailError(
                f"cannot connect to {s.host}:{s.port}: {_describe(exc)}", transient=True
            ) from exc
        password = s.password.get_secret_value() if s.password else ""
        response = await self._call(self._client.login(s.username, password))
        if response.result != "OK":
            detail = _text(response.lines[-1:]) if response.lines else ""
            raise MailError(f"login refused for user {s.username!r}: {detail}", transient=False)

    async def _starttls(self, context: ssl.SSLContext) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise MailError("the server does not offer STARTTLS", transient=False)
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await asyncio.wait_for(protocol.execute(command), self._timeout)
        if response.result != "OK":
            raise MailError("STARTTLS refused", transient=False)
        loop = asyncio.get_running_loop()
        protocol.transport = await loop.start_tls(
            protocol.transport, protocol, context, server_hostname=self._settings.host
        )
        await asyncio.wait_for(protocol.capability(), self._timeout)

    def _on_lost(self, exc: Exception | None) -> None:
        self._lost.set()

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """Await a library call; a dropped connection or any library error is a MailError."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if not task.done() or task.cancelled():
            raise MailError("connection to the IMAP server lost", transient=True)
        try:
            return task.result()
        except LIBRARY_ERRORS as exc:
            raise MailError(f"IMAP error: {_describe(exc)}", transient=True) from exc

    async def select(self, mailbox: str, *, readonly: bool = False) -> Selected:
        """SELECT (or EXAMINE) and read UIDVALIDITY, UIDNEXT and the message count."""
        call = self._client.examine(mailbox) if readonly else self._client.select(mailbox)
        response = await self._call(call)
        if response.result != "OK":
            raise MailError(f"cannot open mailbox {mailbox!r}", transient=False)
        codes: dict[bytes, int] = {}
        messages = 0
        for line in response.lines:
            if not isinstance(line, bytes):
                continue
            for match in _CODE.finditer(line):
                codes[match.group(1)] = int(match.group(2))
            exists = _EXISTS.match(line)
            if exists:
                messages = int(exists.group(1))
        return Selected(codes.get(b"UIDVALIDITY", 0), codes.get(b"UIDNEXT", 0), messages)

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid``, ascending."""
        response = await self._call(
            self._client.uid_search("UID", f"{last_uid + 1}:*", charset=None)
        )
        if response.result != "OK":
            raise MailError("UID SEARCH failed", transient=True)
        found: set[int] = set()
        for line in response.lines[:-1]:
            if isinstance(line, bytes):
                found.update(int(x) for x in line.split() if x.isdigit())
        return sorted(uid for uid in found if uid > last_uid)

    async def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """``UID FETCH <uids> (UID BODY.PEEK[])``: raw messages by UID."""
        if not uids:
            return {}
        response = await self._call(
            self._client.uid("fetch", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        )
        if response.result != "OK":
            raise MailError("UID FETCH failed", transient=True)
        out: dict[int, bytes] = {}
        uid: int | None = None
        body: bytes | None = None
        for line in response.lines:
            if isinstance(line, bytes) and _FETCH.match(line):
                if uid is not None and body is not None:
                    out[uid] = body
                uid, body = None, None
            if isinstance(line, bytearray):
                body = bytes(line)
            elif isinstance(line, bytes):
                match = _UID.search(line)
                if match:
                    uid = int(match.group(1))
        if uid is not None and body is not None:
            out[uid] = body
        return out

    async def mark_seen(self, uid: int) -> None:
        """Add \\Seen to a message."""
        await self._call(self._client.uid("store", str(uid), "+FLAGS", "(\\Seen)"))

    async def move(self, uid: int, folder: str) -> None:
        """Move a message to a folder (MOVE; COPY when the server lacks MOVE)."""
        verb = "move" if self._client.has_capability("MOVE") else "copy"
        await self._call(self._client.uid(verb, str(uid), folder))

    async def idle(self, renew_s: float) -> None:
        """IDLE until the server reports new mail or ``renew_s`` passes."""
        client = self._client
        done = await self._call(client.idle_start(timeout=renew_s))
        try:
            while True:
                push = await self._call(client.wait_server_push(timeout=renew_s + 30))
                if push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                if any(isinstance(x, bytes) and _EXISTS.match(x) for x in push):
                    break
        finally:
            if not self._lost.is_set() and client.has_pending_idle():
                client.idle_done()
        await self._call(asyncio.wait_for(done, self._timeout))

    async def close(self) -> None:
        """Log out politely when possible and release everything."""
        client = self._client
        if client is None:
            return
        self._client = None
        if not self._lost.is_set() and client.protocol.transport is not None:
            with contextlib.suppress(*LIBRARY_ERRORS):
                await asyncio.wait_for(client.logout(), 2.0)
        if client._idle_waiter is not None:
            client._idle_waiter.cancel()
        pending = [t for t in (*client.tasks, *client.protocol.tasks) if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if not client._client_task.done():
            client._client_task.cancel()
        await asyncio.gather(client._client_task, return_exceptions=True)
        if client.protocol.transport is not None:
            client.protocol.transport.close()


def _text(lines: list[Any]) -> str:
    return " ".join(bytes(x).decode("utf-8", "replace") for x in lines)[:200]


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:300]
