"""Logins, sessions, secure cookies, login throttling, import/export permissions and request
size limits."""

from datetime import timedelta

from config.content_policy import CONTENT_SECURITY_POLICY
from config.settings.base import DEBUG, env
from warehouse.admin_permissions import EXPORT_ACTIONS, IMPORT_ACTIONS

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the user and their permissions in one query (every request).
    "config.auth_backends.PermissionsInOneQueryBackend",
]
# Django's database sessions, read without the ORM (config/sessions.py).
SESSION_ENGINE = "config.sessions"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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
AXES_USERNAME_FORM_FIELD = "username"  # django-axes' default, named for the code that reads it
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
