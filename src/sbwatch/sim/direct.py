"""The replay's fast way into the simulator: httpx's client API onto the route handlers.

A replay runs the simulator in-process on a virtual clock. Going through HTTP there (building
an httpx request, parsing its URL, the ASGI transport, Starlette's middleware, streaming the
body back) costs most of a replay and cannot change what the watcher sees: the handler is the
same, its answer is the same bytes. ``InProcessClient`` calls the handler the request's path
matches and hands its answer back as an ``httpx.Response``. It keeps what the network does to a
request on the virtual clock (our own network down, an answer slower than the read timeout)
and fails the way httpx fails. ``tests/replay/test_fast_path.py`` holds its reports equal to
the full path's.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from sbwatch.probes.metrics import SERIES_EXTENSION
from sbwatch.sim.endpoints import DocumentResponse, ExpositionResponse
from sbwatch.sim.world import SimWorld

Endpoint = Callable[[Request], Awaitable[Response]]
_Target = tuple[Endpoint, dict[str, Any]] | int
"""A matched handler and its path parameters, or the status to answer (404, 405)."""


class InProcessClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose requests go straight to the simulator's handlers."""

    def __init__(self, world: SimWorld, app: Starlette, *, timeout: float = 30.0) -> None:
        # No transport of httpx's own: it would load the TLS trust store for every replay.
        super().__init__(timeout=timeout, transport=_NoTransport())
        self._world = world
        self._routes = [r for r in app.routes if isinstance(r, Route)]
        self._targets: dict[tuple[str, str], _Target] = {}
        self._queries: dict[tuple[tuple[str, Any], ...], str] = {}
        self._basic: dict[httpx.BasicAuth, dict[str, str]] = {}
        self._encoded: dict[tuple[tuple[str, str], ...], list[tuple[bytes, bytes]]] = {}

    async def request(  # type: ignore[override]  # the subset of keywords sbwatch passes
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,  # noqa: ASYNC109  # httpx's own keyword
        **_: Any,
    ) -> httpx.Response:
        """Answer one request from the handler its path matches."""
        if not self._world.network_up:
            raise httpx.ConnectError("network unreachable", request=self._request(method, url))
        body = content if json is None else _json_bytes(json)
        fields = dict(headers or {})
        if isinstance(auth, httpx.Auth):
            fields.update(self._auth_headers(method, url, auth))
        parts = urlsplit(str(url))
        query = parts.query or (self._query(params) if params else "")
        started = self._world.clock.monotonic()
        answer = await self._answer(method, parts.path, query, fields, body or b"")
        limit = self._read_timeout(timeout)
        if limit is not None and self._world.clock.monotonic() - started > limit:
            request = self._request(method, url)
            raise httpx.ReadTimeout("no answer within the read timeout", request=request)
        extensions = {}
        if isinstance(answer, ExpositionResponse):
            extensions[SERIES_EXTENSION] = answer.samples
        return _Answered(answer, extensions)

    async def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        target = self._target(method, path)
        if isinstance(target, int):
            return Response("Not Found" if target == 404 else "Method Not Allowed", target)
        endpoint, path_params = target
        scope = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": query.encode(),
            "headers": self._raw_headers(headers),
            "path_params": path_params,
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        return await endpoint(Request(scope, receive))

    def _raw_headers(self, headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
        """The ASGI form of ``headers``, encoded once per distinct set (a probe's never vary)."""
        key = tuple(headers.items())
        raw = self._encoded.get(key)
        if raw is None:
            raw = self._encoded[key] = [(k.lower().encode(), v.encode()) for k, v in key]
        return list(raw)

    def _target(self, method: str, path: str) -> _Target:
        key = (method, path)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = self._match(method, path)
        return found

    def _match(self, method: str, path: str) -> _Target:
        scope = {"type": "http", "method": method, "path": path}
        partial = False
        for route in self._routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return route.endpoint, dict(child.get("path_params", {}))
            partial = partial or match is Match.PARTIAL
        return 405 if partial else 404

    def _auth_headers(self, method: str, url: httpx.URL | str, auth: httpx.Auth) -> dict[str, str]:
        """The headers ``auth`` adds to a request (a Basic one's once: they never change)."""
        known = self._basic.get(auth) if isinstance(auth, httpx.BasicAuth) else None
        if known is not None:
            return known
        plain = self._request(method, url)
        added = next(auth.auth_flow(self._request(method, url))).headers
        headers = {k: v for k, v in added.items() if plain.headers.get(k) != v}
        if isinstance(auth, httpx.BasicAuth):
            self._basic[auth] = headers
        return headers

    def _query(self, params: Mapping[str, Any]) -> str:
        """The query string of ``params``, encoded once per distinct value."""
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items())
        query = self._queries.get(key)
        if query is None:
            query = self._queries[key] = urlencode(params, doseq=True)
        return query

    def _read_timeout(self, timeout: Any) -> float | None:
        if timeout is httpx.USE_CLIENT_DEFAULT:
            return self.timeout.read
        if timeout is None:
            return None
        if isinstance(timeout, int | float):
            return float(timeout)
        return httpx.Timeout(timeout).read

    def _request(
        self, method: str, url: httpx.URL | str, headers: Mapping[str, str] | None = None
    ) -> httpx.Request:
        return httpx.Request(method, url, headers=headers)


class _NoTransport(httpx.AsyncBaseTransport):
    """The client's transport, never used: every request is answered by a handler."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse: a request reaching a transport did not go through the handlers."""
        raise httpx.UnsupportedProtocol(f"not answered in-process: {request.url}")


class _Answered(httpx.Response):
    """A response whose body is already in memory, as ``Response(content=...)`` then ``read()``.

    httpx's own constructor streams the body through its decoders to read it; here the stream
    is marked consumed and closed, and the body is the handler's bytes, or its JSON document:
    ``json()`` hands that over, the text is written only when read. The headers are the
    handler's, turned into ``httpx.Headers`` when first read (most answers' never are).
    """

    def __init__(self, answer: Response, extensions: dict[str, Any]) -> None:
        # httpx.Response.__init__ with a stream given, minus the headers and copies it makes
        # only to have them replaced here.
        self.status_code = answer.status_code
        self._request = None
        self.next_request = None
        self.extensions = extensions
        self.history = []
        self.default_encoding = "utf-8"
        self.stream = _CONSUMED
        self._num_bytes_downloaded = 0
        self.is_closed = self.is_stream_consumed = True
        self._raw_headers: list[tuple[bytes, bytes]] | None = answer.raw_headers
        self._document = answer if isinstance(answer, DocumentResponse) else None
        self._body = None if self._document is not None else bytes(answer.body)

    @property  # an attribute of httpx.Response, read lazily here
    def headers(self) -> httpx.Headers:
        """The handler's headers."""
        if self._raw_headers is not None:
            self._headers = httpx.Headers(self._raw_headers)
            self._raw_headers = None
        return self._headers

    @headers.setter
    def headers(self, value: httpx.Headers) -> None:
        self._headers = value
        self._raw_headers = None

    @property
    def content(self) -> bytes:
        """The body's bytes."""
        if self._body is None:
            self._body = self._document.written() if self._document is not None else b""
        return self._body

    def json(self, **kwargs: Any) -> Any:
        """The JSON document the handler answered, or the body parsed."""
        if self._document is not None and self._body is None and not kwargs:
            return self._document.document
        return super().json(**kwargs)


_CONSUMED = httpx.ByteStream(b"")


def _json_bytes(value: Any) -> bytes:
    return jsonlib.dumps(value).encode()
