"""Running it: logs, notifications and mail, health, the beat's schedule file, retention."""

from config.logs import logging_config
from config.settings.base import BASE_DIR, DEBUG, env
from config.settings.workers import CELERY_BEAT_SCHEDULE

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

# --- Notifications (ingestion/batches/notify.py) ----------------------------------------
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

# A failed health check is answered in the report; the library's traceback for it is noise.
LOGGING["loggers"]["health_check"] = {"level": "ERROR"}
