"""The auth rate limits policy (pure): steady 429s on a route, not a burst; held while they
last; the words of the warning with the setting, the lever and the SMTP line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sbwatch.alerting.words import (
    SMTP_LINE,
    SMTP_UNKNOWN_LINE,
    auth_limits_lines,
    auth_limits_title,
)
from sbwatch.policy.auth_limits import (
    MAX_GAP,
    REFUSED_PER_MINUTE,
    STEADY_INTERVALS,
    SUSTAINED,
    AuthAssessment,
    AuthPoint,
    assess,
    increase,
)
from sbwatch.supabase.auth_limits import AuthConfig

T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
STEPS = int(SUSTAINED / MINUTE)


def series(per_minute: Sequence[float], route: str = "/otp", start: float = 0.0) -> list[AuthPoint]:
    """A reading a minute: the counter rising by each rate in turn."""
    points, total = [AuthPoint(T0, {route: start})], start
    for i, rate in enumerate(per_minute, start=1):
        total += rate
        points.append(AuthPoint(T0 + i * MINUTE, {route: total}))
    return points


def last(points: list[AuthPoint]) -> datetime:
    return points[-1].at


def test_fewer_than_two_readings_know_nothing() -> None:
    assert assess([], T0) is None
    assert assess(series([])[:1], T0) is None


def test_a_route_above_the_threshold_for_the_whole_window_is_limited() -> None:
    points = series([REFUSED_PER_MINUTE + 4] * STEPS)
    found = assess(points, last(points))
    assert found is not None
    assert found.limited == ("/otp",)
    assert found.routes[0].per_minute == REFUSED_PER_MINUTE + 4
    assert found.routes[0].steady_for == SUSTAINED


def test_one_minute_short_of_the_window_is_not_yet() -> None:
    points = series([20.0] * (STEPS - 1))
    found = assess(points, last(points))
    assert found is not None
    assert found.limited == ()
    assert found.routes[0].route == "/otp"


def test_a_burst_is_not_limited() -> None:
    """Hundreds refused in one minute, then quiet: not steady."""
    points = series([0, 0, 500, 0, 0, 0, 0])
    found = assess(points, last(points))
    assert found is not None
    assert found.limited == ()
    assert found.routes == ()
    points = series([0, 0, 0, 0, 0, 500])
    assert assess(points, last(points)).limited == ()  # type: ignore[union-attr]


def test_a_burst_in_one_long_interval_is_not_steady() -> None:
    """Scraped every five minutes, a minute's burst reads as five minutes above the threshold:
    one interval cannot tell, so it takes ``STEADY_INTERVALS`` of them."""
    five = 5 * MINUTE
    points = [AuthPoint(T0, {"/token": 0.0}), AuthPoint(T0 + five, {"/token": 400.0})]
    found = assess(points, T0 + five)
    assert found is not None
    assert found.routes[0].steady_for == SUSTAINED
    assert found.limited == ()
    for i in range(2, STEADY_INTERVALS + 1):
        points.append(AuthPoint(T0 + i * five, {"/token": 400.0 + 60 * (i - 1)}))
    assert assess(points, points[-1].at).limited == ("/token",)  # type: ignore[union-attr]


def test_at_the_threshold_is_not_above_it() -> None:
    points = series([REFUSED_PER_MINUTE] * (STEPS + 3))
    assert assess(points, last(points)).limited == ()  # type: ignore[union-attr]


def test_a_dip_restarts_the_window() -> None:
    points = series([10, 10, 10, 10, 0.5, 10, 10, 10, 10])
    assert assess(points, last(points)).limited == ()  # type: ignore[union-attr]


def test_a_counter_reset_counts_from_zero() -> None:
    """GoTrue restarted mid-window: the lower value is the increase since; still steady."""
    points = series([10, 10, 10], start=1000)
    at = points[-1].at
    points += [AuthPoint(at + MINUTE, {"/otp": 10}), AuthPoint(at + 2 * MINUTE, {"/otp": 20})]
    found = assess(points, last(points))
    assert found is not None
    assert found.limited == ("/otp",)
    assert increase(1030, 10) == 10
    assert increase(5, 8) == 3


def test_a_gap_between_readings_is_not_an_interval() -> None:
    points = [*series([10] * STEPS)]
    late = points[-1].at + MAX_GAP + MINUTE
    points.append(AuthPoint(late, {"/otp": points[-1].refused["/otp"] + 200}))
    found = assess(points, late)
    assert found is not None
    assert found.limited == ()
    assert found.routes == ()


def test_a_warned_route_outlives_a_gap_in_the_readings_until_one_says_it_stopped() -> None:
    """The metrics unreachable for a while (an outage): the first reading after the gap knows
    nothing of the rate meanwhile, so the warned route stays; the next one decides."""
    points = series([10] * STEPS)
    late = points[-1].at + MAX_GAP + MINUTE
    total = points[-1].refused["/otp"] + 200
    points.append(AuthPoint(late, {"/otp": total}))
    after_gap = assess(points, late, said=("/otp",))
    assert after_gap is not None
    assert (("/otp",), late) == (after_gap.limited, after_gap.at)
    still = [*points, AuthPoint(late + MINUTE, {"/otp": total + 5})]
    stopped = [*points, AuthPoint(late + MINUTE, {"/otp": total})]
    assert (("/otp",), ()) == (
        assess(still, late + MINUTE, said=("/otp",)).limited,  # type: ignore[union-attr]
        assess(stopped, late + MINUTE, said=("/otp",)).limited,  # type: ignore[union-attr]
    )


def test_a_warned_route_outlives_readings_too_few_or_too_far_apart_to_tell() -> None:
    """Scrapes late (every interval a gap: a slow Management API held the cycle) or one
    reading left after an outage longer than the readings kept: nothing says the route
    stopped, so the warning stays; with nothing warned, nothing is known."""
    gap = MAX_GAP + MINUTE
    apart = [AuthPoint(T0 + i * gap, {"/verify": 300.0 * i}) for i in range(3)]
    alone = [AuthPoint(T0, {"/verify": 4123.0})]
    for points in (apart, alone):
        held = assess(points, last(points), said=("/verify",))
        assert held is not None
        assert ("/verify",) == held.limited
    assert assess(alone, T0) is None


def test_said_routes_stay_while_refusing_at_all_and_go_when_it_stops() -> None:
    points = series([10] * STEPS + [0.5])
    assert assess(points, last(points)).limited == ()  # type: ignore[union-attr]
    assert assess(points, last(points), said=("/otp",)).limited == ("/otp",)  # type: ignore[union-attr]
    stopped = series([10] * STEPS + [0])
    assert assess(stopped, last(stopped), said=("/otp",)).limited == ()  # type: ignore[union-attr]


def test_routes_are_judged_apart_and_the_highest_rate_first() -> None:
    points = [AuthPoint(T0 + i * MINUTE, {"/token": 30.0 * i, "/otp": 3.0 * i}) for i in range(7)]
    found = assess(points, last(points))
    assert found is not None
    assert [s.route for s in found.routes] == ["/token", "/otp"]
    assert found.limited == ("/otp", "/token")


def _limited(route: str) -> AuthAssessment:
    points = series([12] * STEPS, route=route)
    found = assess(points, last(points))
    assert found is not None
    assert found.limited == (route,)
    return found


def test_the_warning_names_the_route_setting_and_lever_with_built_in_smtp() -> None:
    found = _limited("/signup")
    config = AuthConfig({"rate_limit_email_sent": 30}, custom_smtp=False)
    assert auth_limits_title(found) == "auth rate limited: /signup (12/min) answering 429"
    assert auth_limits_lines(found, "abc", config) == [
        "Auth route /signup is refusing requests (HTTP 429) steadily: governed by "
        "rate_limit_email_sent (now 30).",
        "Raise it: PATCH /v1/projects/abc/config/auth with rate_limit_email_sent.",
        "built-in SMTP: 2 emails an hour; set custom SMTP (smtp_host and its fields, in the "
        "same configuration).",
        "Users are being refused; the project is up. sbwatch changes no setting here.",
    ]
    assert SMTP_LINE in auth_limits_lines(found, "abc", config)


def test_custom_smtp_set_drops_the_smtp_line_and_unknown_says_it_conditionally() -> None:
    found = _limited("/recover")
    custom = auth_limits_lines(found, "abc", AuthConfig({}, custom_smtp=True))
    assert not any("SMTP" in line for line in custom)
    assert SMTP_UNKNOWN_LINE in auth_limits_lines(found, "abc", None)


def test_a_route_that_sends_no_email_has_no_smtp_line() -> None:
    found = _limited("/token")
    lines = auth_limits_lines(found, "abc", AuthConfig({}, custom_smtp=False))
    assert lines[0].endswith("governed by rate_limit_token_refresh or rate_limit_verify.")
    assert lines[1] == (
        "Raise it: PATCH /v1/projects/abc/config/auth with rate_limit_token_refresh, "
        "rate_limit_verify."
    )
    assert not any("SMTP" in line for line in lines)
