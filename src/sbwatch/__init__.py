"""sbwatch: a watchdog for a Supabase project."""

__version__ = "0.1.0"
