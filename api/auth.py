"""Who is calling the API, and what they may do.

A request is authenticated by a personal token (``Authorization: Bearer <token>``, checked
first) or by the browser's session (CSRF enforced on writes, as in the admin). Either way
``request.user`` is the token's user, so every permission check is the user's own.

Each operation names the permissions it needs (from ``api.permissions``, the project's one
permission table); they are judged by ``api.refusals.permission_refusal``, as for the
dashboard: 401 ``{"error": "authentication required"}``, 403 ``{"error": "permission
required: <perm>"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from api.permissions import VIEW_SALES
from api.refusals import AUTHENTICATION_REQUIRED, PERMISSION_REQUIRED, permission_refusal
from tokens.services import token_user

__all__ = ["AUTH", "AUTHENTICATION_REQUIRED", "CsrfError", "LoginLocked", "PermissionMissing", "auth_for"]

CSRF_FAILED = "CSRF check failed (send the csrftoken, or use a token: Authorization: Bearer ...)"
LOGIN_LOCKED = "logins of this user from this address are locked (too many failures): tokens too, for now"


def login_locked(request, username: str) -> bool:
    """Whether logins of ``username`` from this request's address are locked right now (the
    (username, address) pair or the address): the same rule the login page applies."""
    if not settings.AXES_ENABLED:
        return False
    return AxesProxyHandler.is_locked(request, {settings.AXES_USERNAME_FORM_FIELD: username})


class PermissionMissing(Exception):
    pass


class LoginLocked(Exception):
    """A token used from an address where its user's logins are locked (429)."""


def _require(request, permissions: tuple[str, ...]) -> None:
    """Raise ``PermissionMissing`` (a 403) for the first permission the user lacks."""
    for permission in permissions:
        if permission_refusal(request, permission) == "forbidden":
            raise PermissionMissing(PERMISSION_REQUIRED.format(permission=permission))


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the header's value is never logged.

    Authentication and the operation's permissions are checked before the request's body
    or parameters are read, so a caller without the permission learns nothing from them.
    Where the login throttle locks the token's user out (this address, or this user from
    it), the token is refused too, while the lock lasts.
    """

    def __init__(self, permissions: tuple[str, ...] = ()):
        super().__init__()
        self.permissions = permissions

    def __call__(self, request):
        # META, not request.headers: that builds a mapping of every header, for one of them.
        scheme, _, secret = (request.META.get("HTTP_AUTHORIZATION") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token):
        user = token_user(secret=token)
        if user is not None and login_locked(request, user.get_username()):
            raise LoginLocked(LOGIN_LOCKED)
        if user is not None:
            request.user = user
            _require(request, self.permissions)
        return user


class SessionAuth(APIKeyCookie):
    """The browser's login (the admin's session); writes need the CSRF token, like a form."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self, permissions: tuple[str, ...] = ()):
        super().__init__(csrf=True)
        self.permissions = permissions

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        _require(request, self.permissions)  # before the CSRF check reads the body
        if check_csrf(request) is not None:
            raise CsrfError(CSRF_FAILED)
        return request.user


class CsrfError(Exception):
    pass


class PublicWhenLoginNotRequired:
    """Lets anyone in when ``DASHBOARD_REQUIRE_LOGIN`` is off (read per request)."""

    def __call__(self, request):
        return not getattr(settings, "DASHBOARD_REQUIRE_LOGIN", True)


def auth_for(*permissions: str) -> list:
    """An operation's ``auth``: a token or the session, of a user with all ``permissions``;
    the sales permission also lets anyone in when ``DASHBOARD_REQUIRE_LOGIN`` is off."""
    callbacks: list[Callable[..., Any]] = [TokenAuth(permissions), SessionAuth(permissions)]
    if VIEW_SALES in permissions:
        callbacks.append(PublicWhenLoginNotRequired())
    return callbacks


AUTH = auth_for()
