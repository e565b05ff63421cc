"""Where a key of a TOML document stands: line numbers for ``location: message`` errors.

tomllib keeps no positions, so the document is scanned once for table headers and keys
(best effort: arrays of tables are counted, inline tables and multi-line values are not).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from sbwatch.core.problems import Problem

Path = tuple[Any, ...]


_ARRAY_HEADER = re.compile(r"\[\[\s*([^\]]+?)\s*\]\]")
_HEADER = re.compile(r"\[\s*([^\]]+?)\s*\]")


def _names(dotted_key: str) -> tuple[str, ...]:
    """``a."b c".d`` -> ``("a", "b c", "d")`` (a comment after a header is not part of it)."""
    return tuple(part.strip().strip('"').strip("'") for part in dotted_key.split("."))


class TomlPositions:
    """The line of every table and key path of one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._counters: dict[Path, int] = {}
        table: Path = ()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if array := _ARRAY_HEADER.match(line):
                names = _names(array[1])
                index = self._counters.get(names, -1) + 1
                self._counters[names] = index
                table = (*self._anchor(names[:-1]), names[-1], index)
                self._lines.setdefault(table, number)
            elif header := _HEADER.match(line):
                table = self._anchor(_names(header[1]))
                self._lines.setdefault(table, number)
            elif "=" in line and not line.startswith("#"):
                self._lines.setdefault((*table, *_names(line.split("=", 1)[0])), number)

    def _anchor(self, names: tuple[str, ...]) -> Path:
        """A dotted table name with the current index after each array of tables."""
        out: list[Any] = []
        for i, name in enumerate(names):
            out.append(name)
            if names[: i + 1] in self._counters:
                out.append(self._counters[names[: i + 1]])
        return tuple(out)

    def line_of(self, path: Path) -> int | None:
        """The line of the longest known prefix of ``path`` (None when nothing matches)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return None

    def place(self, problem: Problem) -> Problem:
        """The problem with the line of its key, when known (at ``config`` when it names none)."""
        line = self.line_of(parse_where(problem.location))
        return replace(problem, location=problem.location or "config", line=line)

    def locate(self, where: str, message: str) -> str:
        """``where (line N): message``, or ``where: message`` when the line is unknown."""
        return str(self.place(Problem(where, message)))


def parse_where(where: str) -> Path:
    """``"projects[0].probes.rest"`` -> ``("projects", 0, "probes", "rest")``."""
    parts: list[Any] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    return tuple(parts)


def dotted(path: Path) -> str:
    """``("projects", 0, "probes")`` -> ``"projects[0].probes"`` (pydantic's ``[key]`` dropped)."""
    out = ""
    for part in path:
        if part == "[key]":  # pydantic's marker for a bad mapping key: the key is the place
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
