"""Reading settings from the environment (django-environ), where a value that cannot be read
names its variable (``BATCH_LEASE_SECONDS='sixty' is not a whole number``) instead of raising a
``ValueError`` traceback; every process answers it in one line (``config/cli.py``). Values of
variables that may hold a password are never repeated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

NOT_READABLE = "{var}{shown} is not {kind}: see .env.example and docs/configuration.md"
URL_NOT_READABLE = "{var} cannot be read ({reason}): write {form}"
DATABASE_URL_FORM = "mysql://USER:PASSWORD@HOST:3306/NAME (or sqlite:////absolute/path.sqlite3)"
EMAIL_URL_FORM = "smtp://USER:PASSWORD@HOST:25 (or smtp+tls://...:587, smtp+ssl://...:465)"
_KINDS = {int: "a whole number", float: "a number", bool: "true or false"}
_SECRET_PARTS = ("PASSWORD", "SECRET", "KEY", "URL")


class Env(environ.Env):
    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError):
            value = self.ENVIRON.get(var, "")
            shown = "" if any(part in var for part in _SECRET_PARTS) else f"={value!r}"
            kind = _KINDS.get(cast, "a value it can use")
            raise ImproperlyConfigured(NOT_READABLE.format(var=var, shown=shown, kind=kind)) from None

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):
        try:
            return super().db_url(var, default=default, engine=engine)
        except (ImproperlyConfigured, ValueError) as exc:
            raise ImproperlyConfigured(
                URL_NOT_READABLE.format(var=var, reason=exc, form=DATABASE_URL_FORM)
            ) from None

    def email_url(self, var=environ.Env.DEFAULT_EMAIL_ENV, default=environ.Env.NOTSET, backend=None):
        try:
            return super().email_url(var, default=default, backend=backend)
        except (ImproperlyConfigured, ValueError) as exc:
            raise ImproperlyConfigured(
                URL_NOT_READABLE.format(var=var, reason=exc, form=EMAIL_URL_FORM)
            ) from None

    db = db_url
    email = email_url


def started_by_celery() -> bool:
    """This process is ``celery -A config ...`` or ``python -m celery -A config ...``."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return started.name == "celery" or started.parts[-2:] == ("celery", "__main__.py")
