"""Sales answers: who may read them, which statuses count as revenue, and their cache."""

from config.settings.base import env
from config.settings.workers import CELERY_BROKER_URL

# --- Dashboard ----------------------------------------------------------------
# True: sales figures need dashboard.view_sales; False makes the dashboard and
# /api/sells/* public (/api/batches/ always needs warehouse.view_loadbatch).
DASHBOARD_REQUIRE_LOGIN = env.bool("DASHBOARD_REQUIRE_LOGIN", default=True)
# Statuses whose invoices count as revenue (cancelled and refunded are not sales).
DASHBOARD_REVENUE_STATUSES = env.list("DASHBOARD_REVENUE_STATUSES", default=["PAID", "PENDING", "PROCESSING"])

# --- Cache --------------------------------------------------------------------
# Sales answers (the dashboard's figures, /api/sells/*, chart CSVs) are cached under the
# data version, which every commit that changes them bumps (docs/performance.md). Redis when
# CACHE_URL is set, else the broker's Redis (CELERY_BROKER_URL / REDIS_URL); without either,
# each process keeps its own in memory. Entries of older versions simply expire.
# (An empty CACHE_URL, as .env.example has it, means the same as an unset one.)
CACHE_URL = env("CACHE_URL", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
CACHE_SECONDS = env.int("CACHE_SECONDS", default=6 * 3600)
CACHES = {
    "default": {
        "BACKEND": "config.cache_backends.KeptClientRedisCache"
        if CACHE_URL
        else "django.core.cache.backends.locmem.LocMemCache",
        "TIMEOUT": CACHE_SECONDS,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="invoices"),
        **(
            {"LOCATION": CACHE_URL, "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}
            if CACHE_URL
            else {"OPTIONS": {"MAX_ENTRIES": 2000}}
        ),
    }
}
