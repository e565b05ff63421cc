"""Compute escalation: the journal-backed executor (intent, PATCH, reconcile, verify)."""
