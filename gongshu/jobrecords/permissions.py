"""Who sees the background jobs' records: the platform's bureau (the page checks the top-level region)."""

from foundation.permissions import ANY, declare
from foundation.roles import Role

PERMISSIONS = {"jobs.view": ANY}
ROLE_PERMISSIONS = {Role.BUREAU_ADMIN: {"jobs.view"}}

declare(PERMISSIONS, ROLE_PERMISSIONS)
