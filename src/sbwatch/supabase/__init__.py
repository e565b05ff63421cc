"""What sbwatch knows of the provider: the Management API client and the per-size limits."""
