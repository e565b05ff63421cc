"""Auth probe: ``GET <project>/auth/v1/health`` with the apikey; ok on 2xx with a JSON object."""

from __future__ import annotations

from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import (
    Timer,
    api_key_headers,
    http_get,
    json_body,
    slow_after_s,
    timeout_s,
)
from sbwatch.probes.base import ProbeContext


class AuthProbe:
    """Is the project's auth service (GoTrue) answering?"""

    kind = ProbeKind.AUTH

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        self._url = f"{ctx.project.base_url}/auth/v1/health"
        self._timeout = timeout_s(ctx, SPEC)
        self._slow = slow_after_s(ctx, SPEC)

    async def run(self) -> ProbeResult:
        """GET the auth health endpoint once."""
        timer = Timer(self._ctx, self.kind)
        headers = {k: v for k, v in api_key_headers(self._ctx).items() if k == "apikey"}
        answer = await http_get(
            self._ctx, timer, self._url, headers=headers, limit_s=self._timeout, slow_s=self._slow
        )
        if isinstance(answer, ProbeResult):
            return answer
        if not isinstance(json_body(answer), dict):
            return timer.result(Outcome.FAIL, "invalid JSON", status_code=answer.status_code)
        return timer.result(Outcome.OK, status_code=answer.status_code)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared."""


SPEC = REGISTRY[ProbeKind.AUTH]
