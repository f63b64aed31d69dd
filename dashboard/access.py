"""The login rule: on unless ``settings.DASHBOARD_REQUIRE_LOGIN`` is False (read per request)."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse

AUTHENTICATION_REQUIRED = "authentication required"


def _denied(request) -> bool:
    return getattr(settings, "DASHBOARD_REQUIRE_LOGIN", True) and not request.user.is_authenticated


def page_login_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if _denied(request):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def api_login_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if _denied(request):
            return JsonResponse({"error": AUTHENTICATION_REQUIRED}, status=401)
        return view(request, *args, **kwargs)

    return wrapper
