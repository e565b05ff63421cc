"""Every handler that catches everything says why: the probes' runner is not the only one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sbwatch"
EVERYTHING = frozenset({"Exception", "BaseException"})


def catches_everything(handler: ast.ExceptHandler) -> bool:
    """Whether the handler is bare or names ``Exception`` or ``BaseException``."""
    kind = handler.type
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return kind is None or any(isinstance(n, ast.Name) and n.id in EVERYTHING for n in names)


def raises_on(handler: ast.ExceptHandler) -> bool:
    """Whether the handler's own body ends by raising (clean-up, then the exception goes on)."""
    return isinstance(handler.body[-1], ast.Raise)


def said_why(handler: ast.ExceptHandler, lines: list[str]) -> bool:
    """A comment on the ``except`` line or as the first line of its body."""
    first = handler.body[0].lineno
    return "#" in lines[handler.lineno - 1] or lines[first - 2].strip().startswith("#")


def unexplained(source: str, name: str) -> list[str]:
    """``name:line`` of each catch-all that neither raises on nor says why."""
    lines = source.splitlines()
    return [
        f"{name}:{node.lineno}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ExceptHandler)
        and catches_everything(node)
        and not raises_on(node)
        and not said_why(node, lines)
    ]


def test_every_catch_all_in_the_package_says_why() -> None:
    """No handler of src/sbwatch swallows every exception without a comment saying why."""
    found = [
        line
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in unexplained(path.read_text(), str(path.relative_to(PACKAGE)))
    ]
    assert [] == found


def test_a_silent_catch_all_is_found() -> None:
    """A planted handler that swallows everything unexplained is named; a commented one, one
    that raises on, and one that catches a narrow error are not."""
    source = (
        "try:\n    f()\nexcept Exception:\n    pass\n"
        "try:\n    f()\nexcept Exception:  # one bad row must not stop the rest\n    pass\n"
        "try:\n    f()\nexcept BaseException:\n    # one failure must not stop the rest\n    pass\n"
        "try:\n    f()\nexcept BaseException:\n    undo()\n    raise\n"
        "try:\n    f()\nexcept (ValueError, BaseException):\n    pass\n"
        "try:\n    f()\nexcept:\n    pass\n"
        "try:\n    f()\nexcept ValueError:\n    pass\n"
    )
    assert ["planted:3", "planted:21", "planted:25"] == unexplained(source, "planted")
