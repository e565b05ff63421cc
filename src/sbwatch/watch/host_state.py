"""Where the daemon keeps its last memory and CPU summary for ``sbwatch status`` (light: the
status command imports it without the metrics or probe libraries)."""

from __future__ import annotations

from typing import Any

from sbwatch.store.base import StateStore

HOST_NAMESPACE = "host"
"""Store state namespace of the last memory and CPU summary, one document a project."""


async def host_report(store: StateStore, ref: str) -> dict[str, Any] | None:
    """The last memory and CPU summary the daemon kept (None: none yet)."""
    return await store.get_state(HOST_NAMESPACE, ref)
