"""The watch cycle: the jobs, per-project state, signals, escalation flow and announcements."""
