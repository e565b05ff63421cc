"""A small client for the Supabase Management API: project, health, compute add-ons, SQL.

Errors are mapped once here to ``sbwatch.core.errors``: ``RateLimited`` on 429 (and, without
sending, for every call until the announced reset), ``AuthRejected`` on 401 (the token is
invalid or expired: personal access tokens always expire) and 403 (with the
``missing_permissions`` a scoped token lacks),
``ApiError(transient=True)`` on 5xx, timeouts and dropped connections, ``ApiError(transient=False)``
on other 4xx and on bodies that do not match the published spec. GETs retry transient errors;
PATCH, DELETE and a query never do (a compute change must be sent at most once; a query may have
run). An error keeps the body's ``message`` and a ``Retry-After`` (``ApiError.provider_message``,
``ApiError.retry_after_s``) for the caller to decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from sbwatch import __version__
from sbwatch.core.clock import Clock
from sbwatch.core.errors import ApiError, AuthRejected, RateLimited
from sbwatch.core.tiers import TIERS, Tier, tier_for_variant
from sbwatch.supabase.auth_limits import AUTH_CONFIG_PATH, AuthConfig, parse_auth_config

HOURS_PER_MONTH = 730.0
"""How the provider turns hourly prices into monthly ones."""

DEFAULT_RATE_LIMIT_RESET_S = 60.0
"""The limit is per minute: without ``X-RateLimit-Reset``, wait out a whole minute."""

_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 4.0


@dataclass(frozen=True)
class ProjectInfo:
    """``GET /v1/projects/{ref}``, the parts sbwatch uses."""

    ref: str
    name: str
    status: str
    region: str


@dataclass(frozen=True)
class ServiceHealth:
    """One entry of ``GET /v1/projects/{ref}/health``."""

    name: str
    status: str
    healthy: bool
    error: str | None


@dataclass(frozen=True)
class Addons:
    """The compute size and the monthly prices of the compute variants."""

    compute_variant: str | None
    compute_tier: Tier
    monthly_prices: dict[str, float]


@dataclass(frozen=True)
class DiskConfig:
    """``GET /v1/projects/{ref}/config/disk``: the database disk's attributes."""

    type: str
    """gp3 or io2."""
    size_gb: int
    iops: int
    throughput_mibps: int | None
    last_modified_at: datetime | None
    """When the disk last changed (the provider's autoscale or a POST); None when never."""

    def attributes(self, size_gb: int) -> dict[str, Any]:
        """A ``DiskRequestBody``'s attributes: these, at ``size_gb``."""
        attributes: dict[str, Any] = {"type": self.type, "size_gb": size_gb, "iops": self.iops}
        if self.type == "gp3" and self.throughput_mibps is not None:
            attributes["throughput_mibps"] = self.throughput_mibps
        return attributes


@dataclass(frozen=True)
class DiskUtil:
    """``GET /v1/projects/{ref}/config/disk/util``: the filesystem of ``/data`` in bytes."""

    at: datetime | None
    size_bytes: float
    avail_bytes: float
    used_bytes: float


class ManagementApi:
    """Async client of the Management API endpoints sbwatch needs."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: SecretStr,
        *,
        clock: Clock,
        timeout_s: float = 10.0,
        get_retries: int = 2,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self._timeout = httpx.Timeout(timeout_s)
        self._get_retries = max(get_retries, 0)
        self._blocked_until: float | None = None

    def __repr__(self) -> str:
        return f"ManagementApi(base_url={self._base_url!r})"

    async def list_projects(self) -> list[ProjectInfo]:
        """Every project the token reaches: name, status and region, in one request."""
        body = await self._get_json("/v1/projects")
        if not isinstance(body, list):
            raise _bad_body("projects", "expected a list")
        return [_parse_project(item) for item in body]

    async def get_project(self, ref: str) -> ProjectInfo:
        """The project's name, status and region."""
        body = await self._get_json(f"/v1/projects/{ref}")
        return _parse_project(body)

    async def health(
        self, ref: str, services: Sequence[str] = ("db", "rest", "auth"), timeout_ms: int = 5000
    ) -> list[ServiceHealth]:
        """The provider's view of each service's health."""
        # The spec's array parameter, form style exploded: one ``services=`` per name.
        params: dict[str, str | list[str]] = {
            "services": list(services),
            "timeout_ms": str(timeout_ms),
        }
        body = await self._get_json(f"/v1/projects/{ref}/health", params=params)
        if not isinstance(body, list):
            raise _bad_body("health", "expected a list")
        return [_parse_service(item) for item in body]

    async def get_addons(self, ref: str) -> Addons:
        """The selected compute size and the prices of every compute variant offered."""
        body = await self._get_json(f"/v1/projects/{ref}/billing/addons")
        return _parse_addons(body)

    async def set_compute(self, ref: str, variant: str) -> None:
        """Select a compute size. Sent once: never retried, whatever happens."""
        payload = {"addon_type": "compute_instance", "addon_variant": variant}
        await self._send("PATCH", f"/v1/projects/{ref}/billing/addons", json=payload)

    async def get_disk(self, ref: str) -> DiskConfig:
        """The database disk: type, size, IOPS and when it last changed."""
        return _parse_disk(await self._get_json(f"/v1/projects/{ref}/config/disk"))

    async def get_disk_util(self, ref: str) -> DiskUtil:
        """How full the database disk is."""
        return _parse_disk_util(await self._get_json(f"/v1/projects/{ref}/config/disk/util"))

    async def set_disk(self, ref: str, attributes: dict[str, Any]) -> None:
        """Change the database disk (counts toward the provider's four changes a day). Sent
        once: never retried, whatever happens."""
        await self._send("POST", f"/v1/projects/{ref}/config/disk", json={"attributes": attributes})

    async def get_auth_config(self, ref: str) -> AuthConfig:
        """The auth rate limits (``rate_limit_*``) and whether a custom SMTP server is set
        (never its password or user: only whether ``smtp_host`` is set)."""
        body = await self._get_json(AUTH_CONFIG_PATH.format(ref=ref))
        try:
            return parse_auth_config(body)
        except ValueError as exc:
            raise _bad_body("config/auth", str(exc)) from None

    async def remove_addon(self, ref: str, variant: str) -> None:
        """Remove an add-on (for compute: roll back to the previous size). Never retried."""
        await self._send("DELETE", f"/v1/projects/{ref}/billing/addons/{variant}")

    async def run_query(
        self, ref: str, query: str, *, read_only: bool = False, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Run SQL on the project's database; the rows of its last statement. Never retried:
        a query that failed in transit may have run."""
        payload: dict[str, Any] = {"query": query}
        if read_only:
            payload["read_only"] = True
        path = f"/v1/projects/{ref}/database/query"
        response = await self._send("POST", path, json=payload, timeout_s=timeout_s)
        try:
            body = response.json()
        except ValueError:
            raise _bad_body("query", "not JSON") from None
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise _bad_body("query", "expected a list of rows")
        return body

    # -- transport ------------------------------------------------------------------------
    async def _get_json(
        self, path: str, params: Mapping[str, str | list[str]] | None = None
    ) -> Any:
        attempt = 0
        while True:
            try:
                response = await self._send("GET", path, params=params)
            except RateLimited:
                raise
            except ApiError as exc:
                if not exc.transient or attempt >= self._get_retries:
                    raise
                await self._clock.sleep(min(_BACKOFF_BASE_S * 2**attempt, _BACKOFF_CAP_S))
                attempt += 1
                continue
            try:
                return response.json()
            except ValueError:
                raise _bad_body(path, "not JSON") from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | list[str]] | None = None,
        json: Any = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        self._check_rate_limit()
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Accept": "application/json",
            "User-Agent": f"sbwatch/{__version__}",
        }
        try:
            response = await self._http.request(
                method,
                self._base_url + path,
                params=params,
                json=json,
                headers=headers,
                timeout=self._timeout if timeout_s is None else httpx.Timeout(timeout_s),
            )
        except httpx.TimeoutException as exc:
            raise ApiError(f"{method} {path}: timed out", transient=True) from exc
        except httpx.TransportError as exc:
            reason = self._scrub(f"{type(exc).__name__}: {exc}")
            raise ApiError(
                f"{method} {path}: connection failed ({reason})", transient=True
            ) from exc
        except httpx.RequestError as exc:
            reason = self._scrub(type(exc).__name__)
            raise ApiError(f"{method} {path}: request failed ({reason})", transient=False) from exc
        self._raise_for_status(method, path, response)
        return response

    def blocked(self) -> bool:
        """Whether a request now would be refused here, unsent, for the rate limit."""
        return self._blocked_until is not None and self._blocked_until > self._clock.monotonic()

    def _check_rate_limit(self) -> None:
        if self._blocked_until is None:
            return
        left = self._blocked_until - self._clock.monotonic()
        if left > 0:
            raise RateLimited(left)
        self._blocked_until = None

    def _raise_for_status(self, method: str, path: str, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 429:
            reset = _reset_seconds(response.headers.get("X-RateLimit-Reset"))
            self._blocked_until = self._clock.monotonic() + reset
            raise RateLimited(reset)
        if status == 401:
            raise AuthRejected(f"{method} {path}: token invalid or expired (HTTP 401)", status=401)
        if status == 403:
            missing = _missing_permissions(response)
            lacks = f"token lacks {', '.join(missing)}" if missing else "token not allowed"
            raise AuthRejected(
                f"{method} {path}: {lacks} (HTTP 403)", status=403, missing_permissions=missing
            )
        where = f"{method} {path}: HTTP {status}"
        raise ApiError(
            where,
            status=status,
            transient=status >= 500,
            provider_message=self._scrub(_message(response)),
            retry_after_s=_retry_after(response.headers.get("Retry-After")),
        )

    def _scrub(self, text: str) -> str:
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _reset_seconds(header: str | None) -> float:
    try:
        value = float(header) if header is not None else DEFAULT_RATE_LIMIT_RESET_S
    except ValueError:
        return DEFAULT_RATE_LIMIT_RESET_S
    return value if value >= 0 else DEFAULT_RATE_LIMIT_RESET_S


def _message(response: httpx.Response) -> str:
    """The ``message`` of an error body (the provider's own words), or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else ""


def _missing_permissions(response: httpx.Response) -> tuple[str, ...]:
    """The ``missing_permissions`` a 403 names (a scoped token's), or none."""
    try:
        body = response.json()
    except ValueError:
        return ()
    found = body.get("missing_permissions") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(str(item) for item in found if isinstance(item, str))


def _retry_after(header: str | None) -> float | None:
    """``Retry-After`` in seconds (only the delta form; a date is not trusted to our clock)."""
    try:
        value = float(header) if header is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def _bad_body(what: str, why: str) -> ApiError:
    return ApiError(f"{what}: unexpected response body ({why})", transient=False)


def _field(body: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(body, dict):
        raise _bad_body(what, "expected an object")
    value = body.get(key)
    if not isinstance(value, kind):
        raise _bad_body(what, f"{key!r} missing or of the wrong type")
    return value


def _parse_project(body: Any) -> ProjectInfo:
    return ProjectInfo(
        ref=_field(body, "ref", str, "project"),
        name=_field(body, "name", str, "project"),
        status=_field(body, "status", str, "project"),
        region=_field(body, "region", str, "project"),
    )


def _parse_service(item: Any) -> ServiceHealth:
    name = _field(item, "name", str, "health")
    status = _field(item, "status", str, "health")
    healthy = item.get("healthy")
    if not isinstance(healthy, bool):
        # ``healthy`` is deprecated in favour of ``status``; derive it when absent.
        healthy = status == "ACTIVE_HEALTHY"
    error = item.get("error")
    return ServiceHealth(name, status, healthy, error if isinstance(error, str) else None)


def _monthly(price: Any) -> float:
    amount = _field(price, "amount", (int, float), "addons price")
    interval = _field(price, "interval", str, "addons price")
    return float(amount) * (HOURS_PER_MONTH if interval == "hourly" else 1.0)


def _compute_prices(variants: list[Any], prices: dict[str, float]) -> None:
    for variant in variants:
        vid = _field(variant, "id", str, "addons variant")
        prices[vid] = _monthly(_field(variant, "price", dict, "addons variant"))


def _parse_addons(body: Any) -> Addons:
    selected = _field(body, "selected_addons", list, "addons")
    available = _field(body, "available_addons", list, "addons")
    prices: dict[str, float] = {}
    variant: str | None = None
    for addon in selected:
        if _field(addon, "type", str, "addons") == "compute_instance":
            chosen = _field(addon, "variant", dict, "addons")
            _compute_prices([chosen], prices)
            variant = chosen["id"]
    for addon in available:
        if _field(addon, "type", str, "addons") == "compute_instance":
            _compute_prices(_field(addon, "variants", list, "addons"), prices)
    return Addons(variant, _tier_of(variant), prices)


def _tier_of(variant: str | None) -> Tier:
    if variant is None:
        return Tier.NANO
    # Sizes above the tier table (12xl and up) have no burst budget either: treat as the top.
    return tier_for_variant(variant) or TIERS[-1].tier


def _parse_time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_body(what, "a time is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad_body(what, f"{value!r} is not an ISO time") from None
    return parsed if parsed.tzinfo is not None else None


def _parse_disk(body: Any) -> DiskConfig:
    attributes = _field(body, "attributes", dict, "disk")
    kind = _field(attributes, "type", str, "disk")
    size = _field(attributes, "size_gb", int, "disk")
    iops = _field(attributes, "iops", int, "disk")
    throughput = attributes.get("throughput_mibps")
    if throughput is not None and not isinstance(throughput, int):
        raise _bad_body("disk", "'throughput_mibps' of the wrong type")
    return DiskConfig(
        kind, size, iops, throughput, _parse_time(body.get("last_modified_at"), "disk")
    )


def _parse_disk_util(body: Any) -> DiskUtil:
    metrics = _field(body, "metrics", dict, "disk util")
    number = (int, float)
    return DiskUtil(
        at=_parse_time(_field(body, "timestamp", str, "disk util"), "disk util"),
        size_bytes=float(_field(metrics, "fs_size_bytes", number, "disk util")),
        avail_bytes=float(_field(metrics, "fs_avail_bytes", number, "disk util")),
        used_bytes=float(_field(metrics, "fs_used_bytes", number, "disk util")),
    )
