"""No DSN password or token reaches the output of the data commands, even at debug level."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.datachecks.conftest import REF
from tests.servers import free_port
from tests.system.conftest import run_cli

pytestmark = pytest.mark.integration

DB_PASSWORD = "data-secret-db-password-8d8d"
TOKEN = "sbp_b2d449bca1a98edbf26f1d1068ab8d0f3ee75324"

CONFIG = """
log_level = "debug"
mgmt_api_url = "{api}"
mgmt_token = "{token}"
[state]
path = "{state}"
[[projects]]
ref = "{ref}"
db_dsn = "{dsn}"
probes = {{ data = {{ timeout = "5s" }} }}
[[projects.data_checks]]
name = "rows"
kind = "not_empty"
table = "orders"
"""


@pytest.fixture
def echoing_api() -> Iterator[str]:
    """An API that answers every call 500 with a body repeating the bearer token."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            token = self.headers.get("Authorization", "")
            body = json.dumps({"message": f"Failed to run sql query: {token}"}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{free_port()}/none",
        f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:notaport/none",
    ],
    ids=["refused", "malformed"],
)
def test_data_commands_never_print_a_secret(dsn: str, echoing_api: str, tmp_path: Path) -> None:
    """probe data (text and JSON), db report, check-config --online, sql status and sql
    apply, each failing on a database or an API that repeats the token: no secret printed."""
    config = tmp_path / "config.toml"
    text = CONFIG.format(
        api=echoing_api, token=TOKEN, state=tmp_path / "state.db", ref=REF, dsn=dsn
    )
    config.write_text(text, encoding="utf-8")
    migration = tmp_path / "20260501090000_x.sql"
    migration.write_text("SELECT 1;", encoding="utf-8")
    runs = [
        ("probe", REF, "data"),
        ("probe", REF, "data", "--json"),
        ("db", "report", REF),
        ("check-config", str(config), "--online"),
        ("sql", "status", REF, str(migration)),
        ("sql", "apply", REF, str(migration), "--yes"),
    ]
    for args in runs:
        done = run_cli("--config", str(config), *args, timeout_s=60)
        printed = done.stdout + done.stderr
        assert printed.strip(), args
        assert "Traceback" not in printed, (args, printed)
        assert (DB_PASSWORD not in printed, TOKEN not in printed) == (True, True), (args, printed)
        assert done.returncode in (0, 1), (args, printed)
