"""Settings, read from the environment (see ``.env.example``).

Database, in this order: ``DATABASE_URL``; else ``DB_HOST`` with the ``MYSQL_*``
variables; else SQLite under ``var/``. Celery: with ``CELERY_BROKER_URL`` (or
``REDIS_URL``) tasks go to that broker; without one they run eagerly in-process.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.permissions import EXPORT_ACTIONS, IMPORT_ACTIONS

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Local settings (``make demo`` writes one); the environment wins. ENV_FILE="" reads none (tests).
ENV_FILE = env("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.admin_site.InvoiceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "axes",
    "ninja",
    "warehouse",
    "ingestion",
    "dashboard",
    "tokens",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.NumberTooLargeMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_env() -> dict:
    if env("DATABASE_URL", default=""):
        return env.db("DATABASE_URL")
    if env("DB_HOST", default=""):
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": env("MYSQL_DATABASE", default="invoices"),
            "USER": env("MYSQL_USER", default="root"),
            "PASSWORD": env("MYSQL_PASSWORD", default=""),
            "HOST": env("DB_HOST"),
            "PORT": env("DB_PORT", default="3306"),
        }
    (BASE_DIR / "var").mkdir(exist_ok=True)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "dev.sqlite3"}


DATABASES = {"default": _database_from_env()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 everywhere; LOAD DATA LOCAL INFILE for staging when the server allows it.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"charset": "utf8mb4", "local_infile": 1})
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default as a real database: WAL lets readers (progress bar, dashboard)
    # read beside a load's write transaction; a writer takes its lock at BEGIN (IMMEDIATE)
    # and waits up to SQLITE_BUSY_TIMEOUT seconds for another one instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
        }
    )
    if str(DATABASES["default"]["NAME"]) != ":memory:":
        # Tests run on a file too (not SQLite's in-memory database), so WAL and concurrent
        # readers behave as they do in production.
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(DATABASES["default"]["NAME"]).with_suffix(".test.sqlite3"))
        }
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Static files: whitenoise serves them straight from the apps (no collectstatic needed), or,
# with DJANGO_STATIC_MANIFEST=true (the Docker image and `make demo`), the hashed, compressed
# copies that collectstatic wrote to STATIC_ROOT (cached for ever by browsers).
STATIC_MANIFEST = env.bool("DJANGO_STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "config.storage.HashedStaticStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

LOGIN_URL = "admin:login"

# --- The load -----------------------------------------------------------------
INPUT_DIR = Path(env("INPUT_DIR", default=str(BASE_DIR / "data")))
LOG_DIR = Path(env("LOG_DIR", default=str(BASE_DIR / "var" / "log")))
ALLOW_MISSING_INVOICE_ID = env.bool("ALLOW_MISSING_INVOICE_ID", default=False)
# "DMY": 03/04/2023 is 3 April (the exports' convention); "MDY": 4 March.
INVOICE_DATE_ORDER = env("INVOICE_DATE_ORDER", default="DMY")
INGEST_CHUNK_ROWS = env.int("INGEST_CHUNK_ROWS", default=50_000)
# What one file may hold, checked while it is read (see docs/loading.md, "What a load does").
INGEST_MAX_FIELD_BYTES = env.int("INGEST_MAX_FIELD_BYTES", default=1024 * 1024)
INGEST_MAX_LINE_BYTES = env.int("INGEST_MAX_LINE_BYTES", default=10 * 1024 * 1024)
INGEST_MAX_CHUNK_BYTES = env.int("INGEST_MAX_CHUNK_BYTES", default=128 * 1024 * 1024)
INGEST_MAX_XLSX_PART_BYTES = env.int("INGEST_MAX_XLSX_PART_BYTES", default=512 * 1024 * 1024)
INGEST_MAX_XLSX_RATIO = env.int("INGEST_MAX_XLSX_RATIO", default=100)

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default=""))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Eager mode still writes task state to the result backend: keep it in memory then.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or "cache+memory://")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3 * 3600 + 600)
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "ingestion": {"level": env("LOG_LEVEL", default="WARNING"), "propagate": True},
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Login throttling (django-axes) ------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one username (from anywhere) or from one
# client address (whatever the username), that username or address is refused for
# AXES_COOLOFF_MINUTES (0: until an admin deletes the lockout under Axes > Access attempts).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_cooloff_minutes = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes > 0 else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked.html"
# Behind N reverse proxies the client is the N-th address from the right of X-Forwarded-For.
LOGIN_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.login_throttle.client_ip"
AXES_USERNAME_CALLABLE = "config.login_throttle.client_username"

# --- Import/export permissions (config/permissions.py) ------------------------
# django-import-export's defaults for any admin; the project's admins also apply
# ImportExportPermissionMixin, which checks every action (import: add and change).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = IMPORT_ACTIONS[0]
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = EXPORT_ACTIONS[0]

# --- Dashboard ----------------------------------------------------------------
# True: sales figures need dashboard.view_sales; False makes the dashboard and
# /api/sells/* public (/api/batches/ always needs warehouse.view_loadbatch).
DASHBOARD_REQUIRE_LOGIN = env.bool("DASHBOARD_REQUIRE_LOGIN", default=True)
# Statuses whose invoices count as revenue (cancelled and refunded are not sales).
DASHBOARD_REVENUE_STATUSES = env.list("DASHBOARD_REVENUE_STATUSES", default=["PAID", "PENDING", "PROCESSING"])

# --- Admin uploads and Celery worker ------------------------------------------
# Uploaded files are kept under MEDIA_ROOT/ADMIN_UPLOAD_SUBDIR: every worker must see them.
ADMIN_UPLOAD_SUBDIR = env("ADMIN_UPLOAD_SUBDIR", default="uploads")
ADMIN_UPLOAD_MAX_BYTES = env.int("ADMIN_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
ADMIN_UPLOAD_MAX_FILES = env.int("ADMIN_UPLOAD_MAX_FILES", default=20)
# XLSX exports are built in memory: above this many rows the admin asks for CSV (which streams).
EXPORT_XLSX_MAX_ROWS = env.int("EXPORT_XLSX_MAX_ROWS", default=100_000)
# Rows one POST /api/rejected/reprocess/ may re-process (it runs inside the request).
API_REPROCESS_MAX_ROWS = env.int("API_REPROCESS_MAX_ROWS", default=100_000)
# Redelivery of a message whose worker died: above the hard time limit, or a long load
# would be delivered twice; lower it (tests do) to recover faster from a killed worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Queueing with the broker down fails within seconds (the batch is marked failed), not 20 s.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_TRANSPORT_OPTIONS.update({"socket_connect_timeout": 1.5, "socket_timeout": 5})

# --- Batch leases, the sweeper and the scan -------------------------------------
# A running batch renews its lease every BATCH_LEASE_SECONDS / 4; the sweeper queues again
# a batch whose lease expired (worker killed, machine lost), or fails it after
# BATCH_MAX_ATTEMPTS lost workers.
BATCH_LEASE_SECONDS = env.int("BATCH_LEASE_SECONDS", default=60)
BATCH_MAX_ATTEMPTS = env.int("BATCH_MAX_ATTEMPTS", default=3)
BATCH_SWEEP_SECONDS = env.int("BATCH_SWEEP_SECONDS", default=60)
# How long re-processing and aggregate rebuilds wait for a load that is writing the warehouse.
FACTS_LOCK_WAIT_SECONDS = env.int("FACTS_LOCK_WAIT_SECONDS", default=60)
# One temporary folder per running batch (bulk-load files), removed on every exit path.
LOAD_TMP_DIR = Path(env("LOAD_TMP_DIR", default=str(BASE_DIR / "var" / "tmp")))
# Celery beat: look for new files in INPUT_DIR (checksums make a re-scan harmless).
INPUT_SCAN_MINUTES = env.int("INPUT_SCAN_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = {
    "batch-sweep": {"task": "ingestion.tasks.batch_sweep", "schedule": BATCH_SWEEP_SECONDS},
    **(
        {"scan-input-dir": {"task": "ingestion.tasks.scan_input_dir", "schedule": INPUT_SCAN_MINUTES * 60}}
        if INPUT_SCAN_MINUTES > 0
        else {}
    ),
}

# --- Collected static files (DJANGO_STATIC_MANIFEST=true) ----------------------
# collectstatic keeps only the hashed copies and compresses them (brotli and gzip), but not
# the source maps, which only a developer's tools fetch.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
