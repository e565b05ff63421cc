"""Alerting: message text and delivery through apprise with a durable outbox."""
