"""REST probe: ``GET <project>/rest/v1/`` with the service key.

Only a 2xx answer is ``ok``; the body (PostgREST's OpenAPI document, possibly large) is not
parsed. 522/544 mean the provider's edge timed out on the origin, the disk IO budget symptom.
"""

from __future__ import annotations

from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.probes import REGISTRY
from sbwatch.probes._common import Timer, api_key_headers, http_get, timeout_s
from sbwatch.probes.base import ProbeContext


class RestProbe:
    """Is PostgREST answering for this project?"""

    kind = ProbeKind.REST

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        self._url = f"{ctx.project.base_url}/rest/v1/"
        self._timeout = timeout_s(ctx, SPEC)

    async def run(self) -> ProbeResult:
        """GET the REST root once."""
        timer = Timer(self._ctx, self.kind)
        headers = api_key_headers(self._ctx)
        answer = await http_get(self._ctx, timer, self._url, headers=headers, limit_s=self._timeout)
        if isinstance(answer, ProbeResult):
            return answer
        return timer.result(Outcome.OK, status_code=answer.status_code)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared."""


# REST answers 522 after about 20 s when the origin times out.
SPEC = REGISTRY[ProbeKind.REST]
