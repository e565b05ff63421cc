"""What a ``query`` data check may not say: statements and functions that act beyond a read.

The checks run in a read-only transaction, which refuses writes to tables, but not what acts
outside it: ``COPY ... TO PROGRAM`` runs a shell command as the server's user,
``pg_terminate_backend`` kills another session, ``dblink_exec`` writes through a connection of
its own. Those are refused here, by their names, before anything is sent; the role the checks
run on (one with ``pg_read_all_data`` and nothing more) is what keeps the rest out.
"""

from __future__ import annotations

import re

_QUOTED = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$", re.DOTALL
)
"""Comments, string literals and dollar-quoted bodies: where a word is not SQL."""
_STARTS = re.compile(r"^[\s(]*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)
ACTING = (
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_signal_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "lo_import",
    "lo_export",
    "lo_from_bytea",
    "lo_unlink",
    "dblink",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
)
"""Functions that act outside the transaction or run SQL of their own (``dblink`` prefixes
``dblink_exec``, ``dblink_send_query`` and the rest)."""
_ACTING = re.compile(
    r"(?<![A-Za-z0-9_$])(" + "|".join(ACTING) + r")(?:_[A-Za-z0-9_]*)?(?![A-Za-z0-9_$])",
    re.IGNORECASE,
)


def query_problems(sql: str) -> list[str]:
    """Why ``sql`` is refused as a data check (empty when it is one plain query)."""
    bare = _QUOTED.sub(" ", sql)
    head = bare.lstrip(" \t\r\n(").split(None, 1)
    first = head[0].upper() if head else ""
    problems: list[str] = []
    if first == "COPY":
        problems.append("COPY is refused: it reads or writes files and programs on the server")
    elif not _STARTS.match(bare):
        problems.append(
            f"must be one query (SELECT, WITH, VALUES or TABLE), not {first or '(empty)'}"
        )
    if ";" in bare.rstrip().rstrip(";"):
        problems.append("one statement only: a ';' separates two")
    found = sorted({m.group(0).lower() for m in _ACTING.finditer(sql)})
    if found:
        problems.append(
            f"calls {', '.join(found)}: refused, it acts outside the read-only transaction"
        )
    return problems
