"""Reading GoTrue's 429s by route from the metrics scrape, and the auth configuration."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from sbwatch.probes.metrics import parse_sample, read_exposition
from sbwatch.supabase.auth_limits import (
    EMAIL,
    ROUTES,
    SETTINGS,
    parse_auth_config,
    read_refused,
    route_limit,
)

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"
AT = datetime(2026, 5, 20, 12, tzinfo=UTC)
REAL_SCRAPE = (REAL / "prom_supabase_grafana_metrics_md_2025-06.prom").read_text()
REAL_LINE = next(
    line for line in REAL_SCRAPE.splitlines() if line.startswith("http_status_codes_total{")
)


def _line(code: str, route: str, value: float) -> str:
    """The provider's own line, with another code, route and value."""
    return (
        REAL_LINE.replace('code="200"', f'code="{code}"')
        .replace('http_route="/health"', f'http_route="{route}"')
        .rsplit(" ", 1)[0]
        + f" {value}"
    )


def test_the_real_exposition_has_gotrue_codes_and_no_429() -> None:
    """The published exposition has GoTrue's status codes (200 on /health): read, none
    refused, which is not the same as no GoTrue series at all."""
    sample, _, _ = parse_sample(REAL_SCRAPE, AT)
    assert sample.auth_refused == ()
    assert 'service_type="gotrue"' in REAL_LINE
    assert 'http_route="/health"' in REAL_LINE


def test_429s_are_read_by_route_from_the_real_line() -> None:
    text = "\n".join(
        [
            REAL_SCRAPE,
            "# TYPE http_status_codes_total counter",
            _line("429", "/token", 12),
            _line("429", "/otp", 3),
            _line("200", "/otp", 40),
        ]
    )
    sample, _, _ = parse_sample(text, AT)
    assert sample.auth_refused == (("/otp", 3.0), ("/token", 12.0))


def test_other_services_codes_are_not_auth_429s() -> None:
    series = [
        ("http_status_codes_total", {"code": "429", "http_route": "/x", "service_type": "x"}, 5),
        ("http_status_codes_total", {"code": "429", "http_route": "/signup"}, 2.0),
        ("http_status_codes_total", {"code": "500", "http_route": "/signup"}, 9.0),
    ]
    assert read_refused(series) == {"/signup": 2.0}


def test_no_gotrue_series_is_unknown_not_zero() -> None:
    lines = [ln for ln in REAL_SCRAPE.splitlines() if "http_status_codes_total" not in ln]
    sample, _, _ = parse_sample("\n".join(lines) + "\n", AT)
    assert sample.auth_refused is None
    assert read_exposition(REAL_SCRAPE).skipped_lines == 0


def test_every_setting_named_is_a_field_of_the_provider_spec() -> None:
    spec = json.loads((REAL / "supabase-mgmt-openapi.json").read_text())
    fields = spec["components"]["schemas"]["AuthConfigResponse"]["properties"]
    assert set(SETTINGS) <= set(fields)
    assert all(s in fields for r in ROUTES.values() for s in r.settings)
    assert "smtp_host" in fields


def test_routes_that_send_email_are_governed_by_the_email_setting() -> None:
    for route in ("/signup", "/recover", "/otp", "/magiclink"):
        assert route_limit(route).sends_email
        assert EMAIL in route_limit(route).settings
    assert route_limit("/token").settings == ("rate_limit_token_refresh", "rate_limit_verify")
    assert route_limit("/verify").settings == ("rate_limit_verify",)
    assert not route_limit("/token").sends_email
    assert route_limit("/something-new").settings == SETTINGS


def test_auth_config_reads_limits_and_custom_smtp() -> None:
    config = parse_auth_config({"rate_limit_email_sent": 2, "smtp_host": None, "x": 1})
    assert config.limits[EMAIL] == 2
    assert config.limits["rate_limit_otp"] is None
    assert not config.custom_smtp
    assert parse_auth_config({"smtp_host": "smtp.example.com"}).custom_smtp
    assert not parse_auth_config({"smtp_host": "  "}).custom_smtp


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rate_limit_otp": "30"}, "rate_limit_otp"),
        ({"rate_limit_verify": True}, "rate_limit_verify"),
        ({"smtp_host": 5}, "smtp_host"),
        ([], "not an object"),
    ],
)
def test_a_bad_auth_config_names_the_field(body: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_auth_config(body)


async def test_the_client_reads_the_simulators_auth_config_and_survives_refusals() -> None:
    """The Management API client reads the limits and custom SMTP the simulator answers; a
    401 and a 429 from that call are ApiErrors the auth flow takes as "not read"."""
    import httpx

    from sbwatch.core.clock import VirtualClock
    from sbwatch.core.errors import ApiError
    from sbwatch.core.tiers import Tier
    from sbwatch.sim.app import create_app
    from sbwatch.sim.world import SimWorld
    from sbwatch.supabase.mgmt_api import ManagementApi

    ref, token = "abcdefghijklmnopqrst", "sbp_" + "0a" * 20
    clock = VirtualClock()
    world = SimWorld(clock)
    world.add_project(ref, Tier.MICRO)
    transport = httpx.ASGITransport(app=create_app(world, token=token, service_key="k" * 40))
    async with httpx.AsyncClient(transport=transport) as http:
        api = ManagementApi(http, "http://sim.test", SecretStr(token), clock=clock)
        config = await api.get_auth_config(ref)
        assert config.limits[EMAIL] == 2
        assert not config.custom_smtp
        world.apply({"kind": "auth_limit", "route": "/otp", "refused_per_minute": 0,
                     "custom_smtp": True})  # fmt: skip
        assert (await api.get_auth_config(ref)).custom_smtp
        world.apply({"kind": "mgmt_api", "fault": "rate_limit"})
        with pytest.raises(ApiError):
            await api.get_auth_config(ref)
        wrong = ManagementApi(http, "http://sim.test", SecretStr("sbp_" + "0b" * 20), clock=clock)
        with pytest.raises(ApiError):
            await wrong.get_auth_config(ref)
