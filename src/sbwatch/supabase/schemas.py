"""The schemas the provider creates in every project's database."""

from __future__ import annotations

PROVIDER_SCHEMAS = frozenset(
    {
        "auth",
        "storage",
        "realtime",
        "_realtime",
        "_analytics",
        "extensions",
        "graphql",
        "graphql_public",
        "net",
        "pgbouncer",
        "pgsodium",
        "pgsodium_masks",
        "supabase_functions",
        "supabase_migrations",
        "vault",
        "cron",
        "pgtle",
    }
)
"""Schemas Supabase creates and manages itself (backups leave them out unless named in
``provider_schemas``; table reports leave them out)."""
