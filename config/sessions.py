"""Django's database sessions, read with one plain SQL statement.

Every request of a logged-in user reads their session; Django's ``db`` backend does it
through the ORM, whose compilation costs more than the rest of a cached answer. This store
reads the same row under the same condition (the key, not expired) with a statement built
once; everything else (creating, saving, deleting, expiry) is Django's own, and a session
deleted or expired in the database is refused on the next request, as before.
"""

from __future__ import annotations

from functools import cache

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone


@cache
def _select_sql(alias: str, table: str) -> str:
    quote = connections[alias].ops.quote_name
    return f"SELECT session_data FROM {quote(table)} WHERE session_key = %s AND expire_date > %s"


class SessionStore(DatabaseSessionStore):
    def load(self):
        if not self.session_key:
            self._session_key = None
            return {}
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(_select_sql(connection.alias, self.model._meta.db_table), [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return {}
        return self.decode(row[0])
