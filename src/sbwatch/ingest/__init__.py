"""Provider warning emails: parse and classify (pure), and ingest over IMAP."""

MAIL_NAMESPACE = "imap"
"""The state store namespace of the mailbox cursor and the mail watcher's health."""
MAIL_WATCHER_KEY = "watcher"
"""The key, in that namespace, of the mail watcher's last stop (read by ``sbwatch status``)."""
