"""Settings every part reads: the environment (``.env``), debug and the secret key, hosts,
apps, middleware, templates, time zone, static and media files."""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.environment import Env, started_by_celery

BASE_DIR = Path(__file__).resolve().parents[2]
env = Env()  # a value it cannot read names its variable (config/environment.py)
# Local settings (``make demo`` writes one); the environment wins. ENV_FILE="" reads none (tests).
ENV_FILE = env("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

SECRET_KEY_MISSING = (
    "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off: put one in .env (see .env.example)"
    " or the environment"
)


def _help_only() -> bool:
    """``manage.py help``, ``manage.py <command> --help``, ``celery ... --help``: prints help,
    signs nothing."""
    args = sys.argv[1:]
    if started_by_celery():
        return "--help" in args
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
    "config.middleware.RequestLogMiddleware",  # first: every later line has the request id
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
    "config.middleware.DatabaseUnavailableMiddleware",
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

# mysql.W003 ("unique CharFields with max_length > 255") fires for the warehouse's *_ci
# columns only: they are GeneratedFields, whose max_length Django reads as None although
# their varchar (output_field) is at most 200 wide. config/tests/test_operations_settings.py
# holds every unique character column of the project to 255.
SILENCED_SYSTEM_CHECKS = ["mysql.W003"]

# --- Collected static files (DJANGO_STATIC_MANIFEST=true) ----------------------
# collectstatic keeps only the hashed copies and compresses them (brotli and gzip), but not
# the source maps, which only a developer's tools fetch.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
