"""The one judgement of who may read what, for the API's operations (``api.auth``) and the
dashboard's pages (``dashboard.access``); the permissions come from ``api.permissions``.

Sales figures need ``dashboard.view_sales``, unless ``settings.DASHBOARD_REQUIRE_LOGIN`` is
False (read per request): then they are public. Every other permission is the user's own.
"""

from django.conf import settings

from api.permissions import VIEW_SALES

AUTHENTICATION_REQUIRED = "authentication required"
PERMISSION_REQUIRED = "permission required: {permission}"


def permission_refusal(request, permission: str) -> str | None:
    """None (allowed), ``"login"`` or ``"forbidden"``."""
    if permission == VIEW_SALES and not getattr(settings, "DASHBOARD_REQUIRE_LOGIN", True):
        return None
    if not request.user.is_authenticated:
        return "login"
    return None if request.user.has_perm(permission) else "forbidden"
