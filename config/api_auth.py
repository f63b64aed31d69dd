"""Who is calling the API, and what they may do.

A request is authenticated by a personal token (``Authorization: Bearer <token>``, checked
first) or by the browser's session (CSRF enforced on writes, as in the admin). Either way
``request.user`` is the token's user, so every permission check is the user's own.

``PERMISSIONS`` names the permission each group of endpoints needs; ``permission_required``
answers 403 ``{"error": "permission required: <perm>"}`` when the user lacks it.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from tokens.services import token_user

AUTHENTICATION_REQUIRED = "authentication required"
PERMISSION_REQUIRED = "permission required: {permission}"
CSRF_FAILED = "CSRF check failed (send the csrftoken, or use a token: Authorization: Bearer ...)"

VIEW_BATCHES = "warehouse.view_loadbatch"
UPLOAD = "warehouse.add_loadbatch"
VIEW_REJECTED = "warehouse.view_rejectedinvoice"
REPROCESS = "warehouse.change_rejectedinvoice"


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the header's value is never logged."""

    def __call__(self, request):
        scheme, _, secret = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token):
        user = token_user(secret=token)
        if user is not None:
            request.user = user
            request.api_token_used = True
        return user


class CsrfError(Exception):
    pass


class SessionAuth(APIKeyCookie):
    """The browser's login (the admin's session); writes need the CSRF token, like a form."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise CsrfError(CSRF_FAILED)
        return request.user


class PublicWhenLoginNotRequired:
    """Lets anyone in when ``DASHBOARD_REQUIRE_LOGIN`` is off (read per request)."""

    def __call__(self, request):
        return not getattr(settings, "DASHBOARD_REQUIRE_LOGIN", True)


AUTH = [TokenAuth(), SessionAuth()]
PUBLIC_AUTH = [*AUTH, PublicWhenLoginNotRequired()]


def permission_required(*permissions: str):
    """An API operation needs all ``permissions`` of the (authenticated) user."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            for permission in permissions:
                if not request.user.has_perm(permission):
                    return JsonResponse(
                        {"error": PERMISSION_REQUIRED.format(permission=permission)}, status=403
                    )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
