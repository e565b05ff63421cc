"""REST probe: ``GET <project>/rest/v1/`` with the service key.

Only a 2xx answer is ``ok``; the body (PostgREST's OpenAPI document, possibly large) is not
parsed. 522/544 mean the provider's edge timed out on the origin, the disk IO budget symptom.
With ``expect_rows`` (a table or view the operator names) it asks for one row of it instead,
with the project's public key when configured (row-level security applies as for users): a
200 with no row is a failure, the symptom of broken row-level security.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import httpx
from sbwatch.probes.base import ProbeContext


class RestProbe:
    """Is PostgREST answering for this project (with the row it must see)?"""

    kind = ProbeKind.REST

    def __init__(self, ctx: ProbeContext) -> None:
        self._ctx = ctx
        self._timeout = timeout_s(ctx, SPEC)
        self._slow = slow_after_s(ctx, SPEC)
        settings = ctx.project.probes.get(ProbeKind.REST)
        self._table = settings.expect_rows if settings is not None else None
        self._url = f"{ctx.project.base_url}/rest/v1/"
        self._headers = api_key_headers(ctx)
        if self._table is not None:
            schema, _, name = self._table.rpartition(".")
            self._url += f"{name}?select=*&limit=1"
            if schema:
                self._headers["Accept-Profile"] = schema
            anon = ctx.project.anon_key
            if anon is not None:
                value = anon.get_secret_value()
                self._headers |= {"apikey": value, "Authorization": f"Bearer {value}"}

    async def run(self) -> ProbeResult:
        """GET the REST root (or one row of ``expect_rows``) once."""
        timer = Timer(self._ctx, self.kind)
        answer = await http_get(
            self._ctx,
            timer,
            self._url,
            headers=self._headers,
            limit_s=self._timeout,
            slow_s=self._slow,
        )
        if isinstance(answer, ProbeResult):
            return answer
        if self._table is not None:
            return self._rows(timer, answer)
        return timer.result(Outcome.OK, status_code=answer.status_code)

    def _rows(self, timer: Timer, answer: httpx.Response) -> ProbeResult:
        rows = json_body(answer)
        code = answer.status_code
        if not isinstance(rows, list):
            return timer.result(
                Outcome.FAIL, f"{self._table}: not a list of rows", status_code=code
            )
        if not rows:
            detail = (
                f"{self._table} answered no row (row-level security or grants refuse it,"
                " or the row is gone)"
            )
            return timer.result(Outcome.FAIL, detail, status_code=code)
        return timer.result(Outcome.OK, f"{self._table}: a row", status_code=code)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client is shared."""


# REST answers 522 after about 20 s when the origin times out.
SPEC = REGISTRY[ProbeKind.REST]
