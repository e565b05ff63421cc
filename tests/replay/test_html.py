"""The six-day replay's HTML report, rendered by headless Chromium."""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

from tests.replay.conftest import LongRuns

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
_CHANNELS = {2: 3, 6: 4}  # PNG colour type -> bytes per pixel (8-bit RGB, RGBA)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
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
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            add = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
            line[i] = (line[i] + add) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def colours(rows: list[bytes], bpp: int) -> set[bytes]:
    """The distinct pixel values of the image."""
    return {row[i : i + bpp] for row in rows for i in range(0, len(row), bpp)}


def test_report_renders_with_a_chart(long_runs: LongRuns) -> None:
    """Chromium's DOM has the SVG with non-empty paths; the screenshot is not one flat colour."""
    page = long_runs.may26_html
    with tempfile.TemporaryDirectory(prefix="sbwatch-replay-report-") as tmp:
        base = Path(tmp)
        png = base / "shot.png"
        common = ["chromium", *FLAGS, f"--user-data-dir={base / 'profile'}"]
        dom = subprocess.run(
            [*common, "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=90, check=True,
        )  # fmt: skip
        subprocess.run(
            [*common, f"--screenshot={png}", "--window-size=1000,900", page.as_uri()],
            capture_output=True, timeout=90, check=True,
        )  # fmt: skip
        shot = png.read_bytes()
    assert "<svg" in dom.stdout
    paths = dict(re.findall(r'<path class="series-(true|estimated)" d="([^"]*)"', dom.stdout))
    assert ["estimated", "true"] == sorted(paths)
    # 865 samples over six days: one M and hundreds of L commands per line.
    assert all(d.startswith("M") and d.count("L") > 500 for d in paths.values())
    assert "PASSED" in dom.stdout
    assert len(shot) > 20_000
    width, height, rows = png_pixels(shot)
    assert (1000, 900) == (width, height)
    assert len(colours(rows, len(rows[0]) // width)) > 10
