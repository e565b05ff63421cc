"""How the provider's edge answers when the project behind it does not (shared/SUPABASE.md)."""

from __future__ import annotations

ORIGIN_TIMEOUT_STATUSES = frozenset({522, 544})
"""522 (origin timed out, after about 20 s) and 544 (gateway timeout): the edge gave up on the
project. The disk IO budget symptom: the project is too slow to answer, not unreachable."""
KEY_REJECTED_STATUSES = frozenset({401, 403})
"""The API key or the secret key was refused."""
