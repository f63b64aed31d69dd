"""Who may read the dashboard and the API (the permissions come from ``api.permissions``).

Sales figures (the page, its chart CSVs, ``/api/sells/*``) need ``dashboard.view_sales``,
unless ``settings.DASHBOARD_REQUIRE_LOGIN`` is False (read per request): then they are
public. Batches (``/api/batches/``) always need ``warehouse.view_loadbatch``: they carry
file names and error texts, which the sales answers show only to that permission too
(``batch_details_allowed``). ``api.refusals.permission_refusal`` is the one judgement; the
pages use ``page_permission_required``, the API's operations ``api.auth.auth_for``.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from api.permissions import VIEW_BATCHES, VIEW_SALES
from api.refusals import permission_refusal


def batch_details_allowed(request) -> bool:
    """File names, notes, errors and workers of batches: only with ``warehouse.view_loadbatch``
    (a sales reader, or anyone when the dashboard is public, sees counts and rates only)."""
    return permission_refusal(request, VIEW_BATCHES) is None


def page_permission_required(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = permission_refusal(request, permission)
            if refusal == "login":
                return redirect_to_login(request.get_full_path())
            if refusal == "forbidden":
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


sales_page_required = page_permission_required(VIEW_SALES)
