"""A configuration problem as a value: the key's place and what is wrong there."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem (or warning) of a configuration: ``location`` is a key's place like
    ``projects[0].backup.schedule`` (or a file's path; empty when nothing names one), ``line``
    the line of the file it stands on, when known."""

    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        """``location (line N): message``, as ``check-config`` prints it."""
        if not self.location:
            return self.message
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{self.location}{at}: {self.message}"

    def under(self, prefix: str) -> Problem:
        """The same problem one level down ``prefix``: ``projects[0]`` + ``backup.dir``."""
        return replace(self, location=f"{prefix}.{self.location}" if self.location else prefix)


def under(prefix: str, problems: list[Problem]) -> list[Problem]:
    """Every problem of ``problems`` located under ``prefix``."""
    return [problem.under(prefix) for problem in problems]
