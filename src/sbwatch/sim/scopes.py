"""The permissions of a scoped Management API token, as the simulated API checks them: each
call it serves needs one, and a token lacking it gets 403 with ``missing_permissions``.

The simulator's own table (the provider's ``fga_permissions`` names), kept apart from what
sbwatch believes each feature needs (``sbwatch.supabase.permissions``): a test compares them.
"""

from __future__ import annotations

NEEDS: dict[tuple[str, str], str] = {
    ("GET", "/v1/projects/{ref}"): "project_admin_read",
    ("GET", "/v1/projects/{ref}/health"): "project_admin_read",
    ("GET", "/v1/projects/{ref}/billing/addons"): "infra_add_ons_read",
    ("PATCH", "/v1/projects/{ref}/billing/addons"): "infra_add_ons_write",
    ("DELETE", "/v1/projects/{ref}/billing/addons/{variant}"): "infra_add_ons_write",
    ("GET", "/v1/projects/{ref}/config/disk"): "infra_disk_config_read",
    ("POST", "/v1/projects/{ref}/config/disk"): "infra_disk_config_write",
    ("GET", "/v1/projects/{ref}/config/disk/util"): "infra_disk_config_read",
    ("GET", "/v1/projects/{ref}/config/auth"): "auth_config_read",
    ("POST", "/v1/projects/{ref}/pause"): "project_admin_write",
    ("POST", "/v1/projects/{ref}/restart"): "project_admin_write",
}
"""(method, route) -> the permission a scoped token needs for it."""
PERMISSIONS = tuple(sorted(set(NEEDS.values())))
