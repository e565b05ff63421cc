"""Headless Chromium for the page tests: the DOM it renders, its screenshots, their pixels.

Flags from shared TESTING.md: without the background-networking ones Chromium floods the
closed network with refused connections. Each run gets a fresh profile directory.
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TIMEOUT_S = 90
_CHANNELS = {2: 3, 6: 4}  # PNG colour type -> bytes per pixel (8-bit RGB, RGBA)


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="sbwatch-chromium-") as profile:
        return subprocess.run(
            ["chromium", *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            timeout=TIMEOUT_S,
            check=True,
        )


def dump_dom(url: str) -> str:
    """The DOM Chromium built from ``url``, serialised."""
    return _run("--dump-dom", url).stdout.decode("utf-8", "replace")


def screenshot(url: str, width: int = 1200, height: int = 900) -> bytes:
    """A PNG of ``url`` in a ``width`` x ``height`` window."""
    with tempfile.TemporaryDirectory(prefix="sbwatch-shot-") as tmp:
        png = Path(tmp) / "shot.png"
        _run(f"--screenshot={png}", f"--window-size={width},{height}", url)
        return png.read_bytes()


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


@dataclass(frozen=True)
class Image:
    """A decoded 8-bit RGB(A) PNG."""

    width: int
    height: int
    bpp: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The RGB of one pixel."""
        at = x * self.bpp
        r, g, b = self.rows[y][at : at + 3]
        return r, g, b

    def colours(self) -> set[bytes]:
        """The distinct pixel values."""
        return {row[i : i + self.bpp] for row in self.rows for i in range(0, len(row), self.bpp)}

    def region(self, rgb: tuple[int, int, int], min_run: int) -> tuple[int, int, int, int] | None:
        """(left, top, right, bottom) of the runs of at least ``min_run`` pixels of exactly
        this colour in a row: a filled area, not the odd anti-aliased pixel of text."""
        want = bytes(rgb)
        xs: list[int] = []
        ys: list[int] = []
        for y, row in enumerate(self.rows):
            start: int | None = None
            for x in range(self.width + 1):
                same = x < self.width and row[x * self.bpp : x * self.bpp + 3] == want
                if same and start is None:
                    start = x
                elif not same and start is not None:
                    if x - start >= min_run:
                        xs += [start, x - 1]
                        ys.append(y)
                    start = None
        return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def decode_png(data: bytes) -> Image:
    """Width, height and the unfiltered rows of an 8-bit RGB/RGBA PNG."""
    assert b"\x89PNG\r\n\x1a\n" == data[:8]
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert 8 == depth
    bpp = _CHANNELS[colour]
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            add = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
            line[i] = (line[i] + add) & 0xFF
        rows.append(bytes(line))
        prev = line
    return Image(width, height, bpp, rows)
