"""Alerting: the pure policy (open, update, remind, resolve) and delivery through apprise."""
