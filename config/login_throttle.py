"""Login throttling (django-axes), its wiring: the client address and username failures are
counted against (the settings name them) and the admin list of lockouts. Whether a token's user
is locked out is the API's check (``api.auth.login_locked``)."""

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin


def client_ip(request) -> str | None:
    """``REMOTE_ADDR``; behind ``LOGIN_PROXY_COUNT`` reverse proxies, the address the outermost
    proxy saw (the N-th from the right of ``X-Forwarded-For``, which clients cannot forge)."""
    proxies = getattr(settings, "LOGIN_PROXY_COUNT", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


USERNAME_MAX_LENGTH = 255  # django-axes' username columns


def client_username(request, credentials=None) -> str | None:
    """The username failures are counted against (django-axes' own rule), cut to what its
    tables hold: a login form posting a 5,000-character name is a failed login, not an error."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else getattr(request, "data", request.POST).get(field)
    return None if username is None else str(username)[:USERNAME_MAX_LENGTH]


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes' lockout list; its clean-up action works outside a login request too."""

    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request, queryset):
        # axes reads the attempt time it sets on login requests; here "now" is meant.
        request.axes_attempt_time = getattr(request, "axes_attempt_time", None)
        return super().cleanup_expired_attempts(request, queryset)


def lockout_admin_register(site: admin.AdminSite) -> None:
    if site.is_registered(AccessAttempt):
        site.unregister(AccessAttempt)
    site.register(AccessAttempt, AccessAttemptAdmin)
