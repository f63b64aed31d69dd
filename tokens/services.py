"""Creating, revoking and checking API tokens (the secret itself is never stored nor logged)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from tokens.models import ApiToken, password_fingerprint

TOKEN_PREFIX = "iet_"  # marks the string as this product's token (for secret scanners)
LAST_USED_EVERY = dt.timedelta(minutes=1)  # last_used_at is written at most this often


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_issue(*, token: ApiToken) -> str:
    """Give an unsaved token its secret and save it; return the secret (shown once, never kept)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.digest = secret[:12], token_digest(secret)
    token.password_fingerprint = password_fingerprint(token.user.password)
    token.save()
    return secret


def token_create(*, user, name: str, expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: (the stored row, the secret to show once)."""
    token = ApiToken(user=user, name=name, expires_at=expires_at)
    return token, token_issue(token=token)


# Why a token was revoked, shown beside it (the user's own page, the admin).
REVOKED_BY_USER = "revoked by its user"
REVOKED_PASSWORD_CHANGED = "the password changed"
REVOKED_BY_ADMINISTRATOR = "revoked by an administrator"


def token_revoke(*, token: ApiToken, reason: str = REVOKED_BY_USER) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at, token.revoked_reason = timezone.now(), reason
        token.save(update_fields=["revoked_at", "revoked_reason"])
    return token


def tokens_revoke_for_user(*, user, reason: str) -> int:
    """Revoke every token of ``user`` still unrevoked; return how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def tokens_follow_rehash(*, user, old_hash: str) -> int:
    """The same password stored under a stronger hash (Django upgrades it at login): the
    tokens made under the old hash stay valid."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, password_fingerprint=password_fingerprint(old_hash)
    ).update(password_fingerprint=password_fingerprint(user.password))


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


def token_state(*, token: ApiToken) -> str:
    """ "active", "expired", or "revoked: <why>" (a changed password counts as a revocation)."""
    if token.revoked_at is not None:
        return f"revoked: {token.revoked_reason}" if token.revoked_reason else "revoked"
    if token.password_fingerprint != password_fingerprint(token.user.password):
        return f"revoked: {REVOKED_PASSWORD_CHANGED}"
    return "active" if token.is_active() else "expired"
