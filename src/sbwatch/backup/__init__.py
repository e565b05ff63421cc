"""Backups: pg_dump of a project's schemas, packed with a manifest, proven by restoring them."""
