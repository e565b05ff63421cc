"""Migration files and the ledger the provider's CLI keeps (pure: files in, SQL text out).

A migration is a file named ``<version>_<name>.sql`` (``20260501120000_orders.sql``); it is
applied once, in file-name order, and recorded in ``supabase_migrations.schema_migrations``
(``version`` text primary key, ``name``, ``statements`` text[]) exactly as ``supabase db push``
records it, so either tool sees what the other applied.

Every file ``supabase db push`` applies is applied with the same outcome, in one of three ways
(its ``mode``):
- ``atomic`` (most files): one request, its statements inside one ``DO`` block (which numbers
  them, so a failure names its statement) followed by the ledger row, all in the single
  implicit transaction of a multi-statement query. A failing statement aborts the lot: nothing
  of the file stays, not even its ledger row.
- ``own transactions`` (a file with its own ``BEGIN``/``COMMIT``, or ``SELECT ... INTO``, which
  PL/pgSQL cannot run): one request, the file's statements as they are, then the ledger row.
- ``outside a transaction`` (``CONCURRENTLY``, ``VACUUM``: PostgreSQL refuses them in any
  transaction block): each statement its own request, as the CLI sends them, and the ledger
  row only after every statement succeeded.
The ledger's primary key makes a second commit of the same version impossible, so a file sent
twice by accident cannot be applied twice. A hosted project's ledger has three more columns
(``created_by``, ``idempotency_key`` UNIQUE, ``rollback``); when they exist they are filled
too, in the same transaction as the row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sbwatch.core.results import Diagnosis, DiagnosisKind, Intent

FILE_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")
"""The provider CLI's pattern: the version is the leading digits, the name what follows."""
LEDGER = "supabase_migrations.schema_migrations"
CREATE_LEDGER = (
    "SET lock_timeout = '4s';"
    " CREATE SCHEMA IF NOT EXISTS supabase_migrations;"
    f" CREATE TABLE IF NOT EXISTS {LEDGER} (version text NOT NULL PRIMARY KEY);"
    f" ALTER TABLE {LEDGER} ADD COLUMN IF NOT EXISTS statements text[];"
    f" ALTER TABLE {LEDGER} ADD COLUMN IF NOT EXISTS name text"
)
"""The ledger as the provider's CLI creates it (idempotent)."""
LEDGER_EXISTS = f"SELECT to_regclass('{LEDGER}') IS NOT NULL AS present"
READ_LEDGER = (
    "SELECT version, coalesce(name, '') AS name,"
    " coalesce(array_length(statements, 1), 0) AS statements"
    f" FROM {LEDGER} ORDER BY version"
)
CREATED_BY = "sbwatch"
"""Who recorded a migration, in a hosted ledger's ``created_by``."""
FAILED_MARK = "sbwatch migration statement "
"""How the DO block words a failure: ``sbwatch migration statement 3 failed: <error>``."""
DIAGNOSIS_FRESH = timedelta(hours=1)
"""A diagnosis older than this is not the current state (the daemon records one at least
every 10 minutes while it runs)."""


ATOMIC = "atomic"
OWN = "own transactions"
OUTSIDE = "outside a transaction"
_NO_TRANSACTION = re.compile(r"\bconcurrently\b|^vacuum\b|^create\s+database\b|^alter\s+system\b")
_CONTROL = re.compile(r"(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b")
_SELECT_INTO = re.compile(r"(with\b.*\)\s*)?select\b.*\binto\b", re.DOTALL)


class MigrationFileError(ValueError):
    """A file that cannot be a migration (its name, a duplicate version, unreadable)."""


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name and statements as the provider's CLI splits them."""

    path: Path
    version: str
    name: str
    statements: tuple[str, ...]

    @property
    def file_name(self) -> str:
        """The file's name."""
        return self.path.name

    @property
    def code(self) -> list[tuple[int, str]]:
        """(number from 1, statement) of the statements that are more than comments."""
        return [(n, s) for n, s in enumerate(self.statements, start=1) if _has_code(s)]

    @property
    def mode(self) -> str:
        """How it is applied: ``atomic``, ``own transactions`` or ``outside a transaction``."""
        words = [_bare(s).lower() for _, s in self.code]
        if any(_NO_TRANSACTION.search(w) for w in words):
            return OUTSIDE
        if any(_CONTROL.match(w) or _SELECT_INTO.match(w) for w in words):
            return OWN
        return ATOMIC

    @property
    def idempotency_key(self) -> str:
        """What a hosted ledger's ``idempotency_key`` holds: the version and the file's hash."""
        digest = hashlib.sha256("\x00".join(self.statements).encode()).hexdigest()[:32]
        return f"{CREATED_BY}-{self.version}-{digest}"


@dataclass(frozen=True)
class Applied:
    """One ledger row."""

    version: str
    name: str
    statements: int


def read_migrations(paths: Iterable[Path]) -> list[Migration]:
    """The files (a directory stands for its ``*.sql``) as migrations, in file-name order."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.sql")) if path.is_dir() else [path])
    found: dict[str, Migration] = {}
    for path in sorted(files, key=lambda p: p.name):
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationFileError(
                f"{path.name}: not a migration name: write it <version>_<name>.sql, "
                "like 20260501120000_create_orders.sql"
            )
        version = match.group(1)
        if version in found:
            raise MigrationFileError(
                f"{path.name}: version {version} is also {found[version].file_name}'s"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
            raise MigrationFileError(f"{path}: cannot be read ({reason})") from None
        found[version] = Migration(path, version, match.group(2), tuple(split_statements(text)))
    return list(found.values())


def pending(migrations: Sequence[Migration], applied: Iterable[Applied]) -> list[Migration]:
    """The migrations whose version the ledger does not hold, in order."""
    done = {row.version for row in applied}
    return [m for m in migrations if m.version not in done]


def refusal(diagnosis: Diagnosis | None, unfinished: Sequence[Intent], now: datetime) -> str | None:
    """Why no migration may run now, or None: a throttled disk, or a resize under way."""
    if unfinished:
        intent = unfinished[-1]
        return (
            f"a compute change is under way (#{intent.id} {intent.from_tier} -> "
            f"{intent.to_tier}, {intent.state} since {intent.updated_at:%Y-%m-%d %H:%M} UTC): "
            "the database restarts during a resize; apply once it has settled (sbwatch history)"
        )
    if (
        diagnosis is not None
        and diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED
        and now - diagnosis.at <= DIAGNOSIS_FRESH
    ):
        return (
            f"the last diagnosis ({diagnosis.at:%Y-%m-%d %H:%M} UTC) is io_budget_exhausted: the "
            "disk is throttled and a migration adds to its IO; apply once the budget has "
            "refilled (sbwatch status)"
        )
    return None


# -- the SQL of one apply -------------------------------------------------------------------
def apply_sql(migration: Migration) -> str:
    """One request that applies a migration (``atomic`` or ``own transactions``) and records
    it; an atomic one changes nothing at all when it fails."""
    if migration.mode == OWN:
        body = ";\n".join(statement for _, statement in migration.code)
        return f"{body};\n{record_sql(migration)}" if body else record_sql(migration)
    steps = "\n".join(
        f"  n := {number}; EXECUTE {dollar_quote(statement)};"
        for number, statement in migration.code
    )
    body = (
        "DECLARE\n  n int := 0;\n  detail text;\nBEGIN\n"
        f"{steps}\n"
        "EXCEPTION WHEN OTHERS THEN\n"
        "  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;\n"
        f"  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = '{FAILED_MARK}' || n ||"
        " ' failed: ' || SQLERRM, DETAIL = detail;\n"
        "END"
    )
    return f"DO {dollar_quote(body)};\n{record_sql(migration)}"


def record_sql(migration: Migration) -> str:
    """The ledger row of a migration, with ``created_by``, ``idempotency_key`` and
    ``rollback`` where the ledger has those columns (a hosted project's)."""
    statements = ", ".join(dollar_quote(s) for s in migration.statements)
    body = (
        "DECLARE\n  cols text := 'version, name, statements';\n"
        "  vals text := '$1, $2, $3';\n  extra text;\n"
        "BEGIN\n"
        "  FOR extra IN SELECT column_name FROM information_schema.columns\n"
        "      WHERE table_schema = 'supabase_migrations' AND table_name = 'schema_migrations'\n"
        "        AND column_name IN ('created_by', 'idempotency_key', 'rollback')\n"
        "      ORDER BY column_name LOOP\n"
        "    cols := cols || ', ' || extra;\n"
        "    vals := vals || CASE extra WHEN 'created_by' THEN ', $4'"
        " WHEN 'idempotency_key' THEN ', $5' ELSE ', $6' END;\n"
        "  END LOOP;\n"
        f"  EXECUTE format('INSERT INTO {LEDGER} (%s) VALUES (%s)', cols, vals)\n"
        f"    USING {dollar_quote(migration.version)}::text, {dollar_quote(migration.name)}::text,"
        f" ARRAY[{statements}]::text[], {dollar_quote(CREATED_BY)}::text,"
        f" {dollar_quote(migration.idempotency_key)}::text, ARRAY[]::text[];\n"
        "END"
    )
    return f"DO {dollar_quote(body)}"


def ledger_has_sql(version: str) -> str:
    """Whether the ledger holds one version (it may not exist yet)."""
    return (
        f"SELECT CASE WHEN to_regclass('{LEDGER}') IS NULL THEN false ELSE"
        f" EXISTS (SELECT 1 FROM {LEDGER} WHERE version = {dollar_quote(version)}) END AS applied"
    )


def _bare(statement: str) -> str:
    """A statement without its leading comments and blanks."""
    return re.sub(r"^(\s*(--[^\n]*|/\*.*?\*/))*\s*", "", statement, flags=re.DOTALL)


def is_sql_error(message: str) -> bool:
    """Whether a provider's error is the database's own (``ERROR:  <sqlstate>: ...``)."""
    return re.search(r"ERROR:\s+[0-9A-Z]{5}: ", message) is not None


def failed_statement(message: str) -> int | None:
    """The number of the statement a provider's error names (from the DO block), or None."""
    found = re.search(re.escape(FAILED_MARK) + r"(\d+) failed", message)
    return int(found.group(1)) if found else None


def dollar_quote(text: str) -> str:
    """``text`` as a dollar-quoted literal whose tag does not occur in it."""
    number = 0
    while f"$m{number}$" in text + "$":  # "+ $": a text ending in "$m0" would close early
        number += 1
    return f"$m{number}${text}$m{number}$"


# -- splitting a file into statements ----------------------------------------------------------
def split_statements(text: str) -> list[str]:
    """Statements as the provider's CLI splits a file: at each ``;`` outside quotes, dollar
    quotes, comments and ``BEGIN ATOMIC ... END`` bodies; each trimmed of whitespace and of its
    ``;``, kept with its comments; a chunk of nothing but comments is a statement too (the
    CLI records it), one of nothing but blanks is left out."""
    out: list[str] = []
    start = 0
    i = 0
    atomic = False
    length = len(text)
    while i < length:
        char = text[i]
        if char == "-" and text.startswith("--", i):
            i = _after(text, "\n", i + 2)
        elif char == "/" and text.startswith("/*", i):
            i = _block_comment_end(text, i)
        elif char in "'\"":
            escapes = char == "'" and i > 0 and text[i - 1] in "eE" and not _word_char(text, i - 2)
            i = _quote_end(text, i, char, escapes)
        elif char == "$" and (tag := _dollar_tag(text, i)) is not None:
            i = _after(text, tag, i + len(tag))
        elif char.isalpha() and not _word_char(text, i - 1):
            word_end = i
            while word_end < length and _word_char(text, word_end):
                word_end += 1
            word = text[i:word_end].lower()
            if word == "atomic" and _previous_word(text, i) == "begin":
                atomic = True
            elif word == "end" and atomic:
                atomic = False
            i = word_end
        elif char == ";" and not atomic:
            _keep(out, text[start:i])
            start = i = i + 1
        else:
            i += 1
    _keep(out, text[start:])
    return out


def _keep(out: list[str], chunk: str) -> None:
    statement = chunk.strip().rstrip(";").strip()
    if statement:
        out.append(statement)


def _has_code(statement: str) -> bool:
    """Whether anything but comments and blanks is left of a chunk."""
    stripped = re.sub(r"--[^\n]*", "", statement)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.DOTALL)
    return bool(stripped.strip())


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _previous_word(text: str, index: int) -> str:
    found = re.search(r"([A-Za-z_]+)\s*$", text[:index])
    return found.group(1).lower() if found else ""


def _after(text: str, closing: str, start: int) -> int:
    """The index just past the next ``closing`` from ``start`` (the end when there is none)."""
    found = text.find(closing, start)
    return len(text) if found < 0 else found + len(closing)


def _block_comment_end(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(text)


def _quote_end(text: str, start: int, quote: str, escapes: bool) -> int:
    i = start + 1
    while i < len(text):
        if escapes and text[i] == "\\":
            i += 2
        elif text[i] == quote:
            if text.startswith(quote * 2, i):
                i += 2  # a doubled quote stays inside
            else:
                return i + 1
        else:
            i += 1
    return len(text)


def _dollar_tag(text: str, start: int) -> str | None:
    """``$tag$`` (or ``$$``) opening at ``start``; None for ``$1`` and other dollars."""
    found = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[start:])
    if found is None or _word_char(text, start - 1):
        return None
    return found.group(0)
