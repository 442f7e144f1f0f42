from django.contrib import admin
from django.http import HttpRequest

from spotlersync.roles import is_admin


class SpotlersyncAdminSite(admin.AdminSite):
    """Django's admin, open to the Admin role (no separate `is_staff` flag to keep in step)."""

    site_header = "spotlersync administration"
    site_title = "spotlersync admin"
    site_url = "/"

    def has_permission(self, request: HttpRequest) -> bool:
        return is_admin(request.user)
