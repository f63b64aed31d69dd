"""Settings, read from the environment (see ``.env.example``).

Database, in this order: ``DATABASE_URL``; else ``DB_HOST`` with the ``MYSQL_*``
variables; else SQLite under ``var/``. Celery: with ``CELERY_BROKER_URL`` (or
``REDIS_URL``) tasks go to that broker; without one they run eagerly in-process.
"""

import re
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.content_policy import CONTENT_SECURITY_POLICY
from config.logs import logging_config
from warehouse.admin_permissions import EXPORT_ACTIONS, IMPORT_ACTIONS

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Local settings (``make demo`` writes one); the environment wins. ENV_FILE="" reads none (tests).
ENV_FILE = env("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

SECRET_KEY_MISSING = (
    "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off: put one in .env (see .env.example)"
    " or the environment"
)


def _help_only() -> bool:
    """``manage.py help``, ``manage.py <command> --help``: prints help, signs nothing."""
    args = sys.argv[1:]
    return Path(sys.argv[0]).name == "manage.py" and (
        not args or args[0] in ("help", "version", "--version") or "--help" in args or "-h" in args
    )


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and not _help_only():
        raise ImproperlyConfigured(SECRET_KEY_MISSING)
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
    "log_request_id.middleware.RequestIDMiddleware",  # first: every later line has the request id
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.request_limits.RequestSizeMiddleware",  # before anything reads a request's body
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
                "django.template.context_processors.csp",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


DATABASE_URL_NO_SCHEME = (
    "DATABASE_URL {url!r} has no scheme: write mysql://USER:PASSWORD@HOST:3306/NAME"
    " (or sqlite:////absolute/path.sqlite3)"
)


def _database_from_env() -> dict:
    if url := env("DATABASE_URL", default=""):
        if not re.match(r"[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
            without_password = re.sub(r"(?<=:)[^:@/]*(?=@)", "***", url)
            raise ImproperlyConfigured(DATABASE_URL_NO_SCHEME.format(url=without_password))
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
    # Django's ModelBackend, reading permissions in one query (every sales answer checks them).
    "config.auth_backends.PermissionsInOneQueryBackend",
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

# --- Logging (config/logs.py) ---------------------------------------------------
# JSON lines on stdout (readable text with DJANGO_DEBUG=true); each line carries the batch id
# and file of the load it is about, or the id of the web request (X-Request-ID, taken from the
# request or made up, and sent back on the response). LOG_DIR, if set, also gets a rotating file.
LOG_LEVEL = env("LOG_LEVEL", default="WARNING").upper()
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = logging_config(
    text=LOG_FORMAT == "text",
    level=LOG_LEVEL,
    log_dir=env("LOG_DIR", default=""),
    max_bytes=env.int("LOG_FILE_MAX_BYTES", default=10 * 1024 * 1024),
    backups=env.int("LOG_FILE_BACKUPS", default=5),
)
LOG_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
GENERATE_REQUEST_ID_IF_NOT_IN_HEADER = True
REQUEST_ID_RESPONSE_HEADER = "X-Request-ID"
LOG_REQUESTS = True  # one INFO line per request: method, path, status, user

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Login throttling (django-axes) ------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one username from one client address, or from
# one address (whatever the username), that pair or address is refused for
# AXES_COOLOFF_MINUTES (0: until an admin deletes the lockout under Axes > Access attempts).
# Never a username alone (no lockout from elsewhere); a login refused while locked is not counted.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
_cooloff_minutes = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes) if _cooloff_minutes > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked.html"
# Behind N reverse proxies the client is the N-th address from the right of X-Forwarded-For.
LOGIN_PROXY_COUNT = env.int("LOGIN_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.login_throttle.client_ip"
AXES_USERNAME_CALLABLE = "config.login_throttle.client_username"

# --- Accounts and sessions ----------------------------------------------------
# A login lasts DJANGO_SESSION_HOURS (default 9, a working day); optionally ends at browser close.
SESSION_COOKIE_AGE = round(env.float("DJANGO_SESSION_HOURS", default=9) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("DJANGO_SESSION_AT_BROWSER_CLOSE", default=False)
# X-Forwarded-Proto is believed only behind a proxy (LOGIN_PROXY_COUNT > 0, the one such fact).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if LOGIN_PROXY_COUNT > 0 else None
SECURE_CSP = CONTENT_SECURITY_POLICY  # on every answer; what it allows and why: its module

# --- Import/export permissions (warehouse/admin_permissions.py) ----------------
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
        "BACKEND": "django.core.cache.backends.redis.RedisCache"
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
# Queueing with the broker down fails within seconds (the batch is marked failed), not 20 s.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_TRANSPORT_OPTIONS.update({"socket_connect_timeout": 1.5, "socket_timeout": 5})

# --- Request limits (config/request_limits.py) ---------------------------------
# A request's body is refused with 413 before it is read when it declares more than its
# URL allows, and stopped past it while it streams: an upload (the admin upload,
# POST /api/batches/, an admin import) up to ADMIN_UPLOAD_MAX_BYTES of files (all of them
# together) plus REQUEST_MAX_BYTES; any other request REQUEST_MAX_BYTES.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = min(REQUEST_MAX_BYTES, 5 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "config.request_limits.BodyCapUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

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

# --- Notifications (ingestion/notify.py) ----------------------------------------
# When a batch fails, or rejects more than NOTIFY_REJECTED_PERCENT of the rows it read: a mail
# to NOTIFY_EMAILS and a POST to NOTIFY_WEBHOOK_URL (signed: X-Signature-256: sha256=<HMAC-SHA256
# of the body under NOTIFY_WEBHOOK_SECRET>), sent by Celery tasks retried with backoff. Empty
# NOTIFY_EMAILS / NOTIFY_WEBHOOK_URL: that channel is off. Links point at SITE_URL.
NOTIFY_EMAILS = env.list("NOTIFY_EMAILS", default=[])
NOTIFY_REJECTED_PERCENT = env.float("NOTIFY_REJECTED_PERCENT", default=50.0)
NOTIFY_WEBHOOK_URL = env("NOTIFY_WEBHOOK_URL", default="")
NOTIFY_WEBHOOK_SECRET = env("NOTIFY_WEBHOOK_SECRET", default="")
NOTIFY_TIMEOUT_SECONDS = env.float("NOTIFY_TIMEOUT_SECONDS", default=10.0)
NOTIFY_MAX_RETRIES = env.int("NOTIFY_MAX_RETRIES", default=6)
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Mail (Django's MAILERS): EMAIL_URL (smtp://user:password@host:25, smtp+tls://...:587,
# smtp+ssl://...:465, consolemail://) and/or the individual EMAIL_* variables, which win.
_email = env.email_url("EMAIL_URL", default="smtp://localhost:25")
_mail_backend = env("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
_mail_options: dict = {}
if _mail_backend.endswith("smtp.EmailBackend"):
    _mail_options = {
        "host": env("EMAIL_HOST", default=_email.get("EMAIL_HOST") or "localhost"),
        "port": env.int("EMAIL_PORT", default=_email.get("EMAIL_PORT") or 25),
        "username": env("EMAIL_HOST_USER", default=_email.get("EMAIL_HOST_USER") or ""),
        "password": env("EMAIL_HOST_PASSWORD", default=_email.get("EMAIL_HOST_PASSWORD") or ""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=bool(_email.get("EMAIL_USE_TLS"))),
        "use_ssl": env.bool("EMAIL_USE_SSL", default=bool(_email.get("EMAIL_USE_SSL"))),
        "timeout": env.float("EMAIL_TIMEOUT", default=NOTIFY_TIMEOUT_SECONDS),
    }
elif _mail_backend.endswith("filebased.EmailBackend"):
    _mail_options = {"file_path": env("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))}
MAILERS = {"default": {"BACKEND": _mail_backend, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="invoices@localhost")
EMAIL_SUBJECT_PREFIX = env("EMAIL_SUBJECT_PREFIX", default="[invoices] ")
# --- Operations: health, beat, retention -----------------------------------------
# The beat keeps its schedule under var/ (also `celery -A config worker -B` run by hand) and
# records each tick (config/beat.py) for /health/; a tick comes at least every minute.
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULER = "config.beat:RecordingScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 60
# /health/ calls the beat late after this many seconds without a tick.
HEALTH_BEAT_STALE_SECONDS = 3 * CELERY_BEAT_MAX_LOOP_INTERVAL
# The beat's ticks are kept in the cache (the --- Cache block: the broker's Redis when there is one).
# The health endpoint answers over plain HTTP: container health checks call it from inside.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
# Retention, applied by the beat (0 keeps for ever): staging rows of batches that ended more
# than STAGING_RETENTION_DAYS ago, and admin-uploaded files of batches ended UPLOAD_RETENTION_DAYS ago.
STAGING_RETENTION_DAYS = env.int("STAGING_RETENTION_DAYS", default=30)
UPLOAD_RETENTION_DAYS = env.int("UPLOAD_RETENTION_DAYS", default=90)
RETENTION_SWEEP_MINUTES = env.int("RETENTION_SWEEP_MINUTES", default=60)
if (STAGING_RETENTION_DAYS or UPLOAD_RETENTION_DAYS) and RETENTION_SWEEP_MINUTES > 0:
    CELERY_BEAT_SCHEDULE["retention"] = {
        "task": "ingestion.tasks.retention_apply",
        "schedule": RETENTION_SWEEP_MINUTES * 60,
    }
# mysql.W003 ("unique CharFields with max_length > 255") fires for the warehouse's *_ci
# columns only: they are GeneratedFields, whose max_length Django reads as None although
# their varchar (output_field) is at most 200 wide. config/tests/test_operations_settings.py
# holds every unique character column of the project to 255.
SILENCED_SYSTEM_CHECKS = ["mysql.W003"]
# A failed health check is answered in the report; the library's traceback for it is noise.
LOGGING["loggers"]["health_check"] = {"level": "ERROR"}
# --- Faults: broker and database outages (docs/faults.md) ----------------------
# The batch's lease, not the broker connection, decides who runs a batch: a dropped or
# restarted broker leaves the running load alone (its redelivered message finds the live
# lease and does nothing), instead of terminating it to start again from the first row.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# kombu's Redis transport with the two steps that kill a prefork worker when the broker
# restarts under a running task made to give up with a warning (config/broker.py).
if CELERY_BROKER_URL.startswith("redis://"):  # rediss: kombu's own (TLS set from the scheme)
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
# How long a run keeps trying, on new connections, to record its outcome when the database
# went away; past that the batch is left to the sweeper (or the next in-process load_invoices).
BATCH_OUTCOME_RETRY_SECONDS = env.int("BATCH_OUTCOME_RETRY_SECONDS", default=60)
# --- Collected static files (DJANGO_STATIC_MANIFEST=true) ----------------------
# collectstatic keeps only the hashed copies and compresses them (brotli and gzip), but not
# the source maps, which only a developer's tools fetch.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
