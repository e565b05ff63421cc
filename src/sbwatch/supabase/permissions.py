"""What each sbwatch feature needs of a scoped Management API token (the spec's
``fga_permissions`` of the calls it makes), and asking the API which of them a token lacks."""

from __future__ import annotations

from dataclasses import dataclass

from sbwatch.config.settings import ProjectSettings
from sbwatch.core.errors import ApiError, AuthRejected
from sbwatch.core.results import EscalationMode, ProbeKind
from sbwatch.supabase.mgmt_api import ManagementApi

MGMT_HEALTH = ("the mgmt_health probe", ("project_admin_read",))
SIZE = ("reading the compute size and prices", ("infra_add_ons_read",))
ESCALATION = ("escalation (changing the compute size)", ("infra_add_ons_write",))
DISK = ("reading the disk's size, use and changes", ("infra_disk_config_read",))
DISK_CHANGE = ("growing the disk", ("infra_disk_config_write",))
AUTH_CONFIG = ("reading the auth rate limits and SMTP", ("auth_config_read",))


@dataclass(frozen=True)
class TokenCheck:
    """What a project's token needs, and what asking the API found."""

    needs: tuple[tuple[str, tuple[str, ...]], ...]
    """(feature, permissions) of each enabled feature."""
    lacking: tuple[str, ...] = ()
    """Permissions a 403 named as missing."""
    problem: str | None = None
    """The token invalid or expired, or another refusal."""
    unreachable: str | None = None


def needed(project: ProjectSettings) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The features of a project that call the Management API, with their permissions."""
    features = []
    probe = project.probes.get(ProbeKind.MGMT_HEALTH)
    if probe is not None and probe.enabled:
        features.append(MGMT_HEALTH)
    features += [SIZE, DISK, AUTH_CONFIG]
    if project.escalation.mode is not EscalationMode.OFF:
        features += [ESCALATION, DISK_CHANGE]
    return tuple(features)


async def check_token(api: ManagementApi, project: ProjectSettings) -> TokenCheck:
    """Ask the read calls of the enabled features (never a write): a 401 or a 403's
    ``missing_permissions`` is what the token lacks. Writes are only known when made."""
    needs = needed(project)
    lacking: list[str] = []
    calls = [api.get_project, api.get_addons]
    for call in calls:
        try:
            await call(project.ref)
        except AuthRejected as exc:
            if exc.status == 401:
                return TokenCheck(needs, problem="token invalid or expired (HTTP 401)")
            if not exc.missing_permissions:
                return TokenCheck(needs, problem="token not allowed (HTTP 403)")
            lacking += [p for p in exc.missing_permissions if p not in lacking]
        except ApiError as exc:
            return TokenCheck(needs, unreachable=str(exc))
    return TokenCheck(needs, tuple(lacking))
