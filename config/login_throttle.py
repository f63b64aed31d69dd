"""The client address django-axes counts failed logins against."""

from django.conf import settings


def client_ip(request) -> str | None:
    """``REMOTE_ADDR``; behind ``LOGIN_PROXY_COUNT`` reverse proxies, the address the outermost
    proxy saw (the N-th from the right of ``X-Forwarded-For``, which clients cannot forge)."""
    proxies = getattr(settings, "LOGIN_PROXY_COUNT", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")
