"""Roles: Django groups made of the permissions on `Access`, and the checks views use."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class Role:
    MARKETER = "Marketer"
    ACCOUNT_MANAGER = "Account manager"
    ADMIN = "Admin"


# What each role may do; migration 0002 turns this into groups. Admin also gets every model
# permission through `RoleBackend`, for the Django admin.
ROLE_PERMISSIONS = {
    Role.MARKETER: [
        "view_dashboard",
        "edit_mapping",
        "manage_lists",
        "view_health",
        "search_spotler",
        "review_duplicates",
    ],
    Role.ACCOUNT_MANAGER: ["view_dashboard", "work_bounces"],
    Role.ADMIN: [
        "view_dashboard",
        "edit_mapping",
        "manage_lists",
        "view_health",
        "work_bounces",
        "run_syncs",
        "manage_api_tokens",
        "manage_connection",
        "manage_public_pages",
        "search_spotler",
        "review_duplicates",
    ],
}


def is_admin(user) -> bool:
    if not (user.is_active and user.is_authenticated):
        return False
    return user.is_superuser or user.groups.filter(name=Role.ADMIN).exists()


class RoleBackend(ModelBackend):
    """Django's own backend, plus: members of the Admin group hold every permission."""

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        if user_obj.is_active and self._is_admin_member(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        if user_obj.is_active and self._is_admin_member(user_obj):
            return True
        return super().has_module_perms(user_obj, app_label)

    def _is_admin_member(self, user_obj) -> bool:
        if not hasattr(user_obj, "_role_admin_cache"):
            user_obj._role_admin_cache = is_admin(user_obj)
        return user_obj._role_admin_cache


def role_required(permission: str) -> Callable:
    """Let a view through only for users whose role carries `spotlersync.<permission>`.

    Anonymous users go to the login page; a logged-in user without the role gets the 403 page.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perm(f"spotlersync.{permission}"):
                raise PermissionDenied(permission)
            return view(request, *args, **kwargs)

        wrapped.required_permission = permission
        return wrapped

    return decorator


def roles_context(request: HttpRequest) -> dict:
    """The current user's role names, for the navigation and the page header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": []}
    names = sorted(user.groups.values_list("name", flat=True))
    if user.is_superuser and Role.ADMIN not in names:
        names.append(Role.ADMIN)
    return {"user_roles": names}
