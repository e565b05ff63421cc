"""The built-in Supabase simulator: IO model, world, HTTP app, emails and scenarios."""
