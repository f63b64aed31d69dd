"""Django's database sessions, read with one plain SQL statement, together with their user.

Every request of a logged-in user reads their session; Django's ``db`` backend does it
through the ORM, whose compilation costs more than the rest of a cached answer. This store
reads the same row under the same condition (the key, not expired) with a statement built
once; everything else (creating, saving, deleting, expiry) is Django's own, and a session
deleted or expired in the database is refused on the next request, as before.

The user's id is inside the session's signed data, so the database cannot join the user by
it; but a session names the same user from one request to the next. Each process remembers
the user id a session named last (``_user_hints``, a hint only), and the next read of that
session fetches, in the same statement, that user's row and permissions
(``config.auth_backends``): when the session's data names that very user, those rows, read
in this request, are what ``get_user`` uses, so a logged-in request costs one round trip
for both instead of two. A session naming another user (or none) is read as before: the
hint chooses what is fetched, never who the user is.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils import timezone

from config.auth_backends import session_with_user_sql, user_rows_keep

_HINTS_AT_MOST = 10_000  # sessions remembered per process; then they are forgotten all at once
_user_hints: dict[str, int | str] = {}  # session key -> the user id its data named when last read


@cache
def _select_sql(alias: str, table: str) -> str:
    quote = connections[alias].ops.quote_name
    return f"SELECT session_data FROM {quote(table)} WHERE session_key = %s AND expire_date > %s"


def _user_id(value) -> int | str | None:
    """A session's ``_auth_user_id`` as the user model's primary key, or None."""
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


class SessionStore(DatabaseSessionStore):
    def load(self):
        if not self.session_key:
            self._session_key = None
            return {}
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        table = self.model._meta.db_table
        hint = _user_hints.get(self.session_key)
        with connection.cursor() as cursor:
            if hint is None:
                cursor.execute(_select_sql(connection.alias, table), [self.session_key, now])
            else:
                sql = session_with_user_sql(connection.alias, table)
                cursor.execute(sql, [hint, hint, hint, self.session_key, now])
            rows = cursor.fetchall()
        if not rows:
            _user_hints.pop(self.session_key, None)
            self._session_key = None
            return {}
        data = self.decode(rows[0][0])
        user_id = _user_id(data[SESSION_KEY]) if SESSION_KEY in data else None
        if user_id is not None and user_id == hint:
            user_rows_keep(connection.alias, user_id, [row[1:] for row in rows])
        if user_id is None:
            _user_hints.pop(self.session_key, None)
        elif user_id != hint:
            if len(_user_hints) >= _HINTS_AT_MOST:
                _user_hints.clear()
            _user_hints[self.session_key] = user_id
        return data
