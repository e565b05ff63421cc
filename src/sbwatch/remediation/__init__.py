"""Compute escalation: the pure policy and the journal-backed executor."""
