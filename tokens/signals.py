"""A user's tokens follow their password: a change revokes them, a rehash carries them over.

Django re-hashes a password at login when its hasher's work factor rose (``check_password``'s
setter: ``set_password`` then ``_password = None`` and ``save(update_fields=["password"])``);
that is the same password, so the tokens stay. Any other change of the stored hash revokes
every token of the user. A change no signal sees (a raw SQL ``UPDATE``) still stops them: the
token's fingerprint no longer matches the hash (``ApiToken.is_active``).
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from tokens.services import REVOKED_PASSWORD_CHANGED, tokens_follow_rehash, tokens_revoke_for_user


def _before_save(sender, instance, update_fields=None, **kwargs):
    instance._tokens_old_hash = None
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    old = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True).first()
    if old is not None and old != instance.password:
        rehash = (
            instance._password is None and update_fields is not None and set(update_fields) == {"password"}
        )
        instance._tokens_old_hash, instance._tokens_rehash = old, rehash


def _after_save(sender, instance, created=False, **kwargs):
    old_hash = getattr(instance, "_tokens_old_hash", None)
    if created or old_hash is None:
        return
    if instance._tokens_rehash:
        tokens_follow_rehash(user=instance, old_hash=old_hash)
    else:
        tokens_revoke_for_user(user=instance, reason=REVOKED_PASSWORD_CHANGED)
    instance._tokens_old_hash = None


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(_before_save, sender=user_model, dispatch_uid="tokens_password_before")
    post_save.connect(_after_save, sender=user_model, dispatch_uid="tokens_password_after")
