"""The two files ``sbwatch try`` writes: the simulator's sim.toml and the daemon's config.

``examples/sim.toml`` and ``examples/try.toml`` are these texts rendered with the example
values below (a test keeps them equal, and checks both stay valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sbwatch.core.durations import format_duration
from sbwatch.core.results import ProbeKind
from sbwatch.probes import REGISTRY

REF = "tryoutshopaaaaaaaaaa"
"""The simulated project (20 lowercase letters)."""
NAME = "shop"
TIER = "micro"
BUDGET_LEFT_PCT = 60.0
"""The simulated project starts with this much of its disk IO budget left."""
TOKEN = "sbp_5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
SERVICE_KEY = "sim-service-key"
FAST_PROBE = "2s"
FAST_SLOW_PROBE = "5s"
EXAMPLE_SIM_PORT = 8787
EXAMPLE_PHONE_PORT = 8790
EXAMPLE_METRICS_PORT = 9464


def sim_toml(port: int) -> str:
    """The simulator's configuration (``port = 0`` takes a free port)."""
    return f"""\
# The built-in Supabase simulator, as `sbwatch try` starts it (there with port = 0).
#   sbwatch sim serve --config examples/sim.toml
# It serves, on 127.0.0.1: the Management API (/v1/...), each project's REST, auth and
# metrics endpoints (/p/REF/...), a statuspage.io status page (/status/...) and a control
# API (/_sim/...) that `sbwatch sim ctl` drives. It prints the sbwatch settings that point at
# it, and leaves its URL where `sbwatch sim ctl` finds it.

port = {port}                    # 0 takes a free port
token = "{TOKEN}"        # the Management API token it accepts (sbwatch's mgmt_token)
service_key = "{SERVICE_KEY}"   # the key its REST, auth and metrics endpoints accept
resize_seconds = 120           # a compute change takes this long; the project is down meanwhile
seed = 0                       # its random choices (522 or 544 when overloaded)

[[projects]]
ref = "{REF}"   # 20 lowercase letters
tier = "{TIER}"                 # compute size: nano micro small medium large xl 2xl 4xl 8xl
budget = {BUDGET_LEFT_PCT:g}                    # disk IO budget left at the start, percent

# [mail]                       # append the provider's emails to an IMAP mailbox
# host = "127.0.0.1"
# port = 1143
# user = "ops"
# password = "secret"
# [db]                         # a proxy per project in front of a real PostgreSQL, for the db
# target = "127.0.0.1:5432"    # probe (the simulator stalls or cuts it as the world says)
"""


@dataclass(frozen=True)
class TryPlan:
    """What the daemon's configuration points at."""

    sim_url: str
    phone_port: int
    metrics_port: int
    state_path: Path
    consumed_pct: float
    fast: bool = False


def example_plan() -> TryPlan:
    """The values ``examples/try.toml`` is rendered with."""
    return TryPlan(
        sim_url=f"http://127.0.0.1:{EXAMPLE_SIM_PORT}",
        phone_port=EXAMPLE_PHONE_PORT,
        metrics_port=EXAMPLE_METRICS_PORT,
        state_path=Path("sbwatch-try.db"),
        consumed_pct=round(100.0 - BUDGET_LEFT_PCT, 1),
    )


def _table(name: str, interval: str | None, kind: ProbeKind) -> str:
    """A probe table: the --fast interval, or a note of the default it keeps."""
    head = f"[{name}]"
    default = format_duration(REGISTRY[kind].interval.total_seconds())
    if interval is None:
        return f"{head:<30} # every {default}, the default\n"
    return f'{head}\ninterval = "{interval}"             # --fast (default {default})\n'


def daemon_toml(plan: TryPlan) -> str:
    """The daemon's configuration for the simulator; product defaults unless ``plan.fast``."""
    base = plan.sim_url.rstrip("/")
    every = FAST_PROBE if plan.fast else None
    slow = FAST_SLOW_PROBE if plan.fast else None
    alerting = '\n[alerting]\nresolve_after = "10s"           # --fast (default 5m)\n'
    probes = "".join(
        _table(f"projects.probes.{kind}", interval, kind)
        for kind, interval in (
            (ProbeKind.REST, every),
            (ProbeKind.AUTH, every),
            (ProbeKind.MGMT_HEALTH, slow),
            (ProbeKind.METRICS, slow),
        )
    )
    return f"""\
# sbwatch's configuration for the simulator, as `sbwatch try` writes it (with free ports, a
# state file in its temporary directory and the simulator's true budget level filled in).
#   sbwatch sim serve --config examples/sim.toml &
#   sbwatch run --config examples/try.toml
# Every key not written here has the default of config.example.toml.

log_level = "info"
log_format = "json"            # `sbwatch try` keeps the daemon's log in a file
mgmt_api_url = "{base}"   # the simulator's Management API
mgmt_token = "{TOKEN}"   # what the simulator accepts; in production "cred:mgmt_token"

[metrics]                      # /metrics, and the status page at /
listen = "127.0.0.1"
port = {plan.metrics_port}

[state]
path = "{plan.state_path}"

{_table("status_page", slow, ProbeKind.STATUS_PAGE).rstrip()}
url = "{base}/status"
{alerting if plan.fast else ""}
[[alerting.routes]]            # the local phone of `sbwatch try`: it prints what it receives
name = "phone"
url = "json://127.0.0.1:{plan.phone_port}/"

[[projects]]
ref = "{REF}"
name = "{NAME}"
tier = "{TIER}"
url = "{base}/p/{REF}"
service_key = "{SERVICE_KEY}"   # in production "cred:service_key"

[projects.budget]
consumed_pct = {plan.consumed_pct:g}               # the simulator's true level when it started

# The probes that run: every kind but db (the simulator has no database of its own; a [db]
# target in sim.toml proxies a real PostgreSQL, then add [projects.probes.db] and db_dsn).
{probes}"""
