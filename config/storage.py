"""The storage of the collected static files (``DJANGO_STATIC_MANIFEST=true``)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticStorage(CompressedManifestStaticFilesStorage):
    """Whitenoise's hashed, compressed copies, named by their hash even while DEBUG is on.

    Django links the unhashed names in DEBUG (the files may change without a collectstatic);
    ``make demo`` runs with DEBUG on and collects first, so its pages link the hashed names,
    which whitenoise serves compressed and cacheable for ever, as in production.
    """

    def url(self, name, force=False):
        return super().url(name, force=True)
