"""``sbwatch probe REF data --json`` from a configuration file, as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.datachecks.conftest import DB_PASSWORD, REF, Database

pytestmark = pytest.mark.integration

CONFIG = """
[[projects]]
ref = "{ref}"
db_dsn = "{dsn}"
probes.data = {{ timeout = "20s" }}

[[projects.data_checks]]
name = "orders_rows"
kind = "not_empty"
table = "public.orders"

[[projects.data_checks]]
name = "orders_total"
kind = "query"
table = "public.orders"
sql = "SELECT coalesce(sum(amount), 0) FROM public.orders"
warn_above = 1000000
"""


def sbwatch(*args: str) -> subprocess.CompletedProcess[str]:
    """``sbwatch ARGS`` with this interpreter, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "sbwatch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe_json(config: Path) -> tuple[int, dict[str, Any], str]:
    """Exit code, the printed JSON and everything printed, of one ``probe REF data --json``."""
    done = sbwatch("--config", str(config), "probe", REF, "data", "--json")
    return done.returncode, json.loads(done.stdout), done.stdout + done.stderr


async def test_probe_data_passes_on_a_filled_table_and_fails_naming_it_once_emptied(
    database: Database, tmp_path: Path
) -> None:
    """Exit 0 with each check's value and verdict; after DELETE, exit 1 and outcome fail naming
    the failing check and its table. The DSN's password is never printed."""
    await database.execute(
        "CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric NOT NULL);"
        " INSERT INTO public.orders SELECT g, g FROM generate_series(1, 20) g"
    )
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(ref=REF, dsn=database.dsn), encoding="utf-8")
    code, result, printed = probe_json(config)
    checks = {c["name"]: (c["verdict"], c["value"], c["table"]) for c in result["checks"]}
    assert (0, "ok", "data") == (code, result["outcome"], result["probe"])
    assert {
        "orders_rows": ("ok", checks["orders_rows"][1], "public.orders"),
        "orders_total": ("ok", 210.0, "public.orders"),
    } == checks
    assert checks["orders_rows"][1] >= 1
    assert DB_PASSWORD not in printed

    await database.execute("DELETE FROM public.orders")
    code, result, printed = probe_json(config)
    verdicts = {c["name"]: c["verdict"] for c in result["checks"]}
    assert (1, "fail") == (code, result["outcome"])
    assert {"orders_rows": "warning", "orders_total": "ok"} == verdicts
    assert result["detail"].startswith("orders_rows (public.orders): warning: emptied")
    assert DB_PASSWORD not in printed

    done = sbwatch("--config", str(config), "probe", REF, "data")
    assert 1 == done.returncode
    assert "  orders_rows  public.orders  warning  0  emptied" in done.stdout
