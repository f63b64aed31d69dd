"""Settings, read from the environment (see ``.env.example``).

Database, in this order: ``DATABASE_URL``; else ``DB_HOST`` with the ``MYSQL_*``
variables; else SQLite under ``var/``. Celery: with ``CELERY_BROKER_URL`` (or
``REDIS_URL``) tasks go to that broker; without one they run eagerly in-process.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "import_export",
    "warehouse",
    "ingestion",
    "dashboard",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# --- The load -----------------------------------------------------------------
INPUT_DIR = Path(env("INPUT_DIR", default=str(BASE_DIR / "data")))
LOG_DIR = Path(env("LOG_DIR", default=str(BASE_DIR / "var" / "log")))
ALLOW_MISSING_INVOICE_ID = env.bool("ALLOW_MISSING_INVOICE_ID", default=False)
# "DMY": 03/04/2023 is 3 April (the exports' convention); "MDY": 4 March.
INVOICE_DATE_ORDER = env("INVOICE_DATE_ORDER", default="DMY")
INGEST_CHUNK_ROWS = env.int("INGEST_CHUNK_ROWS", default=50_000)
# What one file may hold, checked while it is read (see the README: "What a load does").
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

# --- Dashboard ----------------------------------------------------------------
# False makes /visualization/dashboard/ and /api/ public.
DASHBOARD_REQUIRE_LOGIN = env.bool("DASHBOARD_REQUIRE_LOGIN", default=True)
# Statuses whose invoices count as revenue (cancelled and refunded are not sales).
DASHBOARD_REVENUE_STATUSES = env.list("DASHBOARD_REVENUE_STATUSES", default=["PAID", "PENDING", "PROCESSING"])
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "dashboard.staticfiles.PlotlyFinder",  # plotly/plotly.min.js from the plotly package
]

# --- Admin uploads and Celery worker ------------------------------------------
# Uploaded files are kept under MEDIA_ROOT/ADMIN_UPLOAD_SUBDIR: every worker must see them.
ADMIN_UPLOAD_SUBDIR = env("ADMIN_UPLOAD_SUBDIR", default="uploads")
ADMIN_UPLOAD_MAX_BYTES = env.int("ADMIN_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
ADMIN_UPLOAD_MAX_FILES = env.int("ADMIN_UPLOAD_MAX_FILES", default=20)
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
CELERY_IMPORTS = ("ingestion.scheduled",)
# Celery beat: look for new files in INPUT_DIR (checksums make a re-scan harmless).
INPUT_SCAN_MINUTES = env.int("INPUT_SCAN_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = (
    {
        "scan-input-dir": {
            "task": "ingestion.scheduled.scan_input_dir",
            "schedule": INPUT_SCAN_MINUTES * 60,
        }
    }
    if INPUT_SCAN_MINUTES > 0
    else {}
)
