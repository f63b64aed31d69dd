"""The JSON API (django-ninja): its routers, its error answers, and its schema and docs.

``/api/schema/`` is the OpenAPI 3 document generated from the operations; ``/api/docs/``
is Swagger UI served from django-ninja's own static files (no CDN, nothing fetched elsewhere). Errors are JSON
``{"error": "..."}``; a bad parameter is 400 ``{"error": "<parameter>: <what is wrong>"}``.
"""

from functools import wraps

from django.http import JsonResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.auth import (
    AUTH,
    AUTHENTICATION_REQUIRED,
    CsrfError,
    LoginLocked,
    PermissionMissing,
    PublicWhenLoginNotRequired,
)
from dashboard.api import router as sales_router
from ingestion.batches.api import router as batches_router
from ingestion.rejected.api import router as rejected_router

DESCRIPTION = """Sales figures, loads (upload, progress, re-run, cancel) and rejected rows.

Authenticate with a personal API token (admin → API tokens → Add), sent as
`Authorization: Bearer <token>`: it has exactly its user's permissions. A browser that is
logged in to the admin uses its session (writes need the CSRF token).
Money is a string with two decimals; a bad parameter is 400 `{"error": "<parameter>: <what is wrong>"}`."""


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _parameter(loc) -> str:
    """The parameter an error is about: ``limit`` for (query, limit), ``ids`` for (body, payload, ids, 0)."""
    parts = [str(p) for p in loc[2 if loc and loc[0] == "body" else 1 :] if not isinstance(p, int)]
    return ".".join(parts) or str(loc[-1] if loc else "request")


def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {"loc": (), "msg": "invalid"}
    return _error(f"{_parameter(first.get('loc') or ())}: {first.get('msg')}", 400)


def _docs_access(view):
    """The schema and the docs: for whoever may use the API (token or session)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            if not any(auth(request) for auth in [*AUTH, PublicWhenLoginNotRequired()]):
                return _error(AUTHENTICATION_REQUIRED, 401)
        except LoginLocked as locked:
            return _error(str(locked), 429)
        return view(request, *args, **kwargs)

    return wrapper


api = NinjaAPI(
    title="Invoice ETL analytics API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/schema/",
    docs_url="/docs/",
    # No validator badge: Swagger UI would load it from validator.swagger.io with this schema's URL.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_decorator=_docs_access,
    auth=AUTH,
)
api.add_router("", sales_router)
api.add_router("", batches_router)
api.add_router("", rejected_router)
api.add_exception_handler(AuthenticationError, lambda request, exc: _error(AUTHENTICATION_REQUIRED, 401))
api.add_exception_handler(CsrfError, lambda request, exc: _error(str(exc), 403))
api.add_exception_handler(PermissionMissing, lambda request, exc: _error(str(exc), 403))
api.add_exception_handler(LoginLocked, lambda request, exc: _error(str(exc), 429))
# django-ninja types a handler's exception as the instance or its class; it is given the instance.
api.add_exception_handler(HttpError, lambda request, exc: _error(str(exc), exc.status_code))  # type: ignore[misc]
api.add_exception_handler(ValidationError, _validation_error)  # type: ignore[arg-type]
