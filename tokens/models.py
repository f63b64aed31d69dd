"""Personal API tokens: a script or BI tool acts as its user, with exactly that user's permissions.

Only a SHA-256 digest of the secret is stored (the secret is 32 random bytes, so a fast hash
is enough: nothing to brute-force); the secret is shown once, when the token is created.

A token also keeps a fingerprint of its user's password hash at creation: once the password
changes, by any path (a form, ``set_password``, ``changepassword``, a raw SQL update), the
fingerprints differ and the token is refused.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “nightly billing export”.")
    prefix = models.CharField(max_length=16, editable=False, help_text="The token's first characters.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Optional: refused after this time. Empty: until revoked."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_reason = models.CharField(max_length=60, blank=True, editable=False)
    password_fingerprint = models.CharField(max_length=64, editable=False)

    class Meta:
        db_table = "api_token"
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and self.password_fingerprint == password_fingerprint(self.user.password)
        )


def password_fingerprint(password_hash: str) -> str:
    """A digest of a stored password hash (not of the password): equal while the hash is."""
    return hashlib.sha256(password_hash.encode()).hexdigest()
