"""Who may read the dashboard and the API (the permissions come from ``config.permissions``).

Sales figures (the page, its chart CSVs, ``/api/sells/*``) need ``dashboard.view_sales``,
unless ``settings.DASHBOARD_REQUIRE_LOGIN`` is False (read per request): then they are
public. Batches (``/api/batches/``) always need ``warehouse.view_loadbatch``: they carry
file names and error texts.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse

from config.permissions import VIEW_BATCHES, VIEW_SALES

AUTHENTICATION_REQUIRED = "authentication required"
PERMISSION_REQUIRED = "permission required: {permission}"


def _refusal(request, permission: str) -> str | None:
    """None (allowed), ``"login"`` or ``"forbidden"``."""
    if permission == VIEW_SALES and not getattr(settings, "DASHBOARD_REQUIRE_LOGIN", True):
        return None
    if not request.user.is_authenticated:
        return "login"
    return None if request.user.has_perm(permission) else "forbidden"


def page_permission_required(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = _refusal(request, permission)
            if refusal == "login":
                return redirect_to_login(request.get_full_path())
            if refusal == "forbidden":
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def api_permission_required(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = _refusal(request, permission)
            if refusal == "login":
                return JsonResponse({"error": AUTHENTICATION_REQUIRED}, status=401)
            if refusal == "forbidden":
                return JsonResponse({"error": PERMISSION_REQUIRED.format(permission=permission)}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


sales_page_required = page_permission_required(VIEW_SALES)
sales_api_required = api_permission_required(VIEW_SALES)
batches_api_required = api_permission_required(VIEW_BATCHES)
