"""Safe text extraction from raw emails: headers, bodies, charsets, HTML. Pure, never raises."""

from __future__ import annotations

import codecs
import html
from email.header import decode_header, make_header
from email.message import Message
from email.policy import EmailPolicy
from html.parser import HTMLParser
from typing import Any

MAX_PARTS = 64
MAX_TEXT = 256_000
MAX_HEADER = 2_000
"""Header values are cut to this many characters before decoding (RFC 5322 lines stop at 998)."""


class SafePolicy(EmailPolicy):
    """``email.policy.default`` that cuts huge header values and never raises on access."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        """Parse a header value lazily; a plain string when the structured parser fails."""
        value = value[:MAX_HEADER]
        if name.lower().startswith("content-"):
            # MIME structure headers never carry encoded words; parsing them is slow.
            value = value[:256].replace("=?", "= ?")
        try:
            return super().header_fetch_parse(name, value)
        except Exception:  # hostile header: the structured parser raises many types
            return value.replace("\r", "").replace("\n", " ")


SAFE_POLICY = SafePolicy()


def header_values(msg: Message, name: str) -> list[str]:
    """Every value of a header, top first, decoded when possible; raw on hostile input."""
    lower = name.lower()
    values: list[str] = []
    for key, raw in msg.raw_items():
        if str(key).lower() == lower:
            values.append(decode_value(name, raw))
    return values


def first_header(msg: Message, name: str) -> str:
    """The topmost value of a header, or ``""``."""
    values = header_values(msg, name)
    return values[0] if values else ""


def decode_value(name: str, raw: object) -> str:
    """Decode encoded-words in a raw header value (cut to MAX_HEADER) without ever raising."""
    text = (raw if isinstance(raw, str) else str(raw))[:MAX_HEADER]
    text = text.replace("\r", "").replace("\n", " ")
    if "=?" not in text:
        return text.replace("\t", " ")
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # unknown charsets, broken encoded words
        return text


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text in the declared charset; UTF-8 with replacement when it is unknown."""
    name = (charset or "utf-8").strip().strip('"').lower() or "utf-8"
    try:
        info = codecs.lookup(name)
        if not getattr(info, "_is_text_encoding", True):
            raise LookupError(name)
        return data.decode(info.name, errors="replace")
    except Exception:  # unknown or non-text codec, codec bugs
        return data.decode("utf-8", errors="replace")


class _Stripper(HTMLParser):
    """Collects visible text and link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        if tag in {"br", "p", "div", "tr", "li", "h1", "h2", "h3"}:
            self.parts.append("\n")
        for key, value in attrs:
            if key == "href" and value:
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(markup: str) -> str:
    """Visible text of an HTML document followed by its link targets."""
    parser = _Stripper()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: keep what was read
        pass
    return "".join(parser.parts) + "\n" + "\n".join(html.unescape(x) for x in parser.links)


def body_text(msg: Message) -> str:
    """The text of every text/plain and text/html part, HTML stripped, bounded in size."""
    plain: list[str] = []
    markup: list[str] = []
    try:
        for count, part in enumerate(msg.walk()):
            if count >= MAX_PARTS:
                break
            _collect(part, plain, markup)
    except Exception:  # deep nesting (RecursionError) or broken structure: keep what was read
        pass
    text = "\n".join(plain)
    if markup:
        text += "\n" + "\n".join(strip_html(m) for m in markup)
    return text[:MAX_TEXT]


def _collect(part: Message, plain: list[str], markup: list[str]) -> None:
    try:
        if part.is_multipart():
            return
        ctype = part.get_content_type()
        if ctype not in {"text/plain", "text/html"}:
            return
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return
        text = decode_bytes(payload[:MAX_TEXT], _charset(part))
    except Exception:  # a hostile part: skip it
        return
    (plain if ctype == "text/plain" else markup).append(text)


def _charset(part: Message) -> str | None:
    try:
        value = part.get_param("charset")
    except Exception:  # hostile Content-Type
        return None
    if isinstance(value, tuple):
        value = value[2]
    return value if isinstance(value, str) else None
