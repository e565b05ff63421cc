"""Provider warning emails: parse and classify (pure), and ingest over IMAP."""
