"""Creating, revoking and checking API tokens (the secret itself is never stored nor logged)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from tokens.models import ApiToken

TOKEN_PREFIX = "iet_"  # marks the string as this product's token (for secret scanners)
LAST_USED_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_issue(*, token: ApiToken) -> str:
    """Give an unsaved token its secret and save it; return the secret (shown once, never kept)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.digest = secret[:12], token_digest(secret)
    token.save()
    return secret


def token_create(*, user, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: (the stored row, the secret to show once)."""
    token = ApiToken(user=user, name=name, expires_at=expires_at)
    return token, token_issue(token=token)


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_user(*, secret: str):
    """The active user of a valid, unrevoked, unexpired token; None otherwise."""
    if not secret or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(secret)).first()
    now = timezone.now()
    if token is None or not token.is_active(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
