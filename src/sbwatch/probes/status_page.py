"""Status page probe: the provider's statuspage.io ``summary.json``.

``ok`` whenever the page answers with the expected shape, whatever it says: the indicator and
the configured components (matched case-insensitively, keyed by their configured spelling)
are data for diagnosis. Results are stored under ``results.PROVIDER``.
"""

from __future__ import annotations

from typing import Any

from sbwatch.core.readings import StatusPage
from sbwatch.core.results import PROVIDER, Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import Timer, http_get, json_body, timeout_s
from sbwatch.probes.base import ProbeContext


class StatusPageProbe:
    """What the provider says about its own platform."""

    kind = ProbeKind.STATUS_PAGE

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        page = ctx.settings.status_page
        self._url = f"{page.url.rstrip('/')}/api/v2/summary.json"
        self._components = list(page.components)
        self._timeout = timeout_s(ctx, SPEC)

    async def run(self) -> ProbeResult:
        """Fetch and read the summary once."""
        timer = Timer(self._ctx, self.kind, project=PROVIDER)
        answer = await http_get(self._ctx, timer, self._url, limit_s=self._timeout)
        if isinstance(answer, ProbeResult):
            return answer
        parsed = _parse_summary(json_body(answer), self._components)
        if parsed is None:
            return timer.result(Outcome.FAIL, "invalid summary", status_code=answer.status_code)
        indicator, components, missing = parsed
        detail = f"indicator {indicator}"
        if missing:
            detail += f"; not on the page: {', '.join(missing)}"
        data = StatusPage(indicator, components).to_doc()
        return timer.result(Outcome.OK, detail, status_code=answer.status_code, data=data)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared."""


def _parse_summary(body: Any, wanted: list[str]) -> tuple[str, dict[str, str], list[str]] | None:
    """(indicator, {configured name: status}, configured names not found) or None if malformed."""
    if not isinstance(body, dict):
        return None
    status = body.get("status")
    indicator = status.get("indicator") if isinstance(status, dict) else None
    listed = body.get("components", [])
    if not isinstance(indicator, str) or not isinstance(listed, list):
        return None
    on_page: dict[str, str] = {}
    for item in listed:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            on_page.setdefault(item["name"].strip().casefold(), str(item.get("status", "")))
    components = {
        name: on_page[name.strip().casefold()]
        for name in wanted
        if name.strip().casefold() in on_page
    }
    missing = [name for name in wanted if name.strip().casefold() not in on_page]
    return indicator, components, missing


SPEC = REGISTRY[ProbeKind.STATUS_PAGE]
