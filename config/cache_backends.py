"""Django's Redis cache, keeping its Redis client instead of building one per call.

Django's ``RedisCache`` builds a ``redis.Redis`` client around its connection pool for every
``get``/``set``: about as much work as the rest of serving a cached answer. A client is
thread-safe and holds nothing but the pool, so one per pool serves every call; connections,
timeouts and errors are the pool's, as before.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _KeptClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        # RedisCacheClient's private members, which django-stubs does not declare
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class KeptClientRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _KeptClient
