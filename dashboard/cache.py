"""Sales answers served from a cache that cannot go stale.

An answer (the JSON of ``/api/sells/*``, a chart CSV, the dashboard page's figures and
cards) depends only on the warehouse, the request's path and parameters, the permissions
that shape it (``api.permissions.ANSWER_SHAPING``), the revenue statuses setting and the
day (a load chart's file is named after it; presets and comparisons follow the data). It is
cached under a key made of exactly those, with the
data version (``warehouse.versions``) in place of the warehouse: every commit that changes
facts, aggregates, names or loads changes the version in its own transaction, so the next
request makes a new key and a fresh answer. The version is read before the data, so an
answer is never older than the version it is filed under.

Only successful GET answers are cached. The ETag is the key (with the user, for the page,
whose header names them); ``If-None-Match`` with it gets 304 without anything being read
but the version and the user. The backend is Django's cache (``settings.CACHES``): Redis
when a broker is configured, process memory otherwise.

A key names one answer for good (the version is in it), so each process also keeps the
answers it recently read from Redis (``_Recent``, at most ``RECENT_BYTES``) and serves them
again without asking Redis: the version, read first on every request, still decides which
answer that is. Only what Redis returned is kept, so an answer Redis could not store is
built again as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers

from api.permissions import ANSWER_SHAPING
from warehouse.selectors.sales import revenue_statuses
from warehouse.versions import data_version

logger = logging.getLogger(__name__)
# Headers of a cached response that are part of the answer.
_KEPT_HEADERS = ("Content-Type", "Content-Disposition")


RECENT_BYTES = 16 * 1024 * 1024  # answers read from Redis kept in each process, at most


class _Recent:
    """The answers this process read last from Redis, least recently used dropped first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, value) -> None:
        size = len(value) if isinstance(value, str) else len(value[1])
        if size > self.max_bytes // 8:
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (value, size)
            self.size += size
            while self.size > self.max_bytes:
                self.size -= self.entries.popitem(last=False)[1][1]


_recent = _Recent(RECENT_BYTES)


def _cached(key: str):
    """The entry, or None (also when the cache cannot be reached: the answer is then built)."""
    backend = caches["default"]
    # Only in front of Redis (a process-memory cache is one already); its own key prefix in
    # the name, so a changed prefix starts afresh here too.
    recent = f"{backend.key_prefix}:{key}" if isinstance(backend, RedisCache) else None
    if recent is not None and (value := _recent.get(recent)) is not None:
        return value
    try:
        value = backend.get(key)
    except Exception:  # a cache that is down slows answers; it never fails them
        logger.warning("answer cache unreachable; answering without it", exc_info=True)
        return None
    if recent is not None and value is not None:
        _recent.put(recent, value)
    return value


def _keep(key: str, value) -> None:
    try:
        caches["default"].set(key, value)
    except Exception:
        logger.warning("answer cache unreachable; answer not kept", exc_info=True)


def answer_shape(request: HttpRequest) -> list[str]:
    """The permissions among ``ANSWER_SHAPING`` the user holds."""
    return [perm for perm in ANSWER_SHAPING if request.user.has_perm(perm)]


def answer_key(request: HttpRequest, version: int) -> str:
    """The key of the answer to ``request`` under data ``version``."""
    database = connection.settings_dict
    material = [
        database["HOST"],
        str(database["NAME"]),
        version,
        request.path,
        sorted(request.GET.lists()),  # parameters sorted by name; a name's values keep their order
        answer_shape(request),
        list(revenue_statuses()),
        timezone.localdate().isoformat(),
    ]
    return "answer:" + hashlib.sha256(json.dumps(material).encode()).hexdigest()[:40]


def _etag(key: str, *extra: str) -> str:
    return '"' + hashlib.sha256("|".join((key, *extra)).encode()).hexdigest()[:32] + '"'


def _matches(request: HttpRequest, etag: str) -> bool:
    # META, not request.headers: that builds a mapping of every header, for one of them.
    sent = request.META.get("HTTP_IF_NONE_MATCH", "")
    return sent.strip() == "*" or etag in [tag.strip() for tag in sent.split(",")]


def _validated(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)  # revalidate: data may change any time
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response


def _not_modified(etag: str) -> HttpResponse:
    return _validated(HttpResponseNotModified(), etag)


def cached_response(request: HttpRequest, build: Callable[[], HttpResponse]) -> HttpResponse:
    """``build()``'s response, or the one cached for the same answer (304 when the ETag matches)."""
    version = data_version()
    if request.method != "GET" or version is None:
        return build()
    key = answer_key(request, version)
    etag = _etag(key)
    if _matches(request, etag):
        return _not_modified(etag)
    stored = _cached(key)
    if stored is None:
        response = build()
        if response.status_code != 200 or response.streaming:
            return response
        headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
        _keep(key, (headers, response.content))
    else:
        headers, content = stored
        response = HttpResponse(content, headers=headers)
    return _validated(response, etag)


def cached_fragment(
    request: HttpRequest, build: Callable[[], str], page: Callable[[str], HttpResponse]
) -> HttpResponse:
    """``page(fragment)``, the fragment (the part shared by every user) built once per answer.

    The page around it names the user, so the ETag includes the user.
    """
    version = data_version()
    if request.method != "GET" or version is None:
        return page(build())
    key = answer_key(request, version)
    etag = _etag(key, str(request.user.pk or ""))
    if _matches(request, etag):
        return _not_modified(etag)
    fragment = _cached(key)
    if fragment is None:
        fragment = build()
        _keep(key, fragment)
    response = page(fragment)
    return _validated(response, etag) if response.status_code == 200 else response
