"""How large a request body may be, refused before it is read.

An upload endpoint (the admin upload, ``POST /api/batches/``, every admin import) takes up
to ``upload_request_max_bytes()``; any other URL ``REQUEST_MAX_BYTES``. Two checks:

- ``RequestSizeMiddleware`` (before anything reads ``request.POST``) answers 413 when the
  declared ``Content-Length`` is over the URL's limit: nothing of the body is read. A body
  sent in chunks without a length (``Transfer-Encoding: chunked``) is answered 411: Django
  reads no body a request does not declare, so the view would see an empty one.
- ``BodyCapUploadHandler`` (the first upload handler) counts the file bytes as they stream
  and stops past the limit whatever the request declared (an ASGI server, a body without
  a length): the other handlers' temporary file is removed and ``RequestBodyTooLarge``
  becomes a 413 through ``bad_request`` (the URL conf's ``handler400``).

An admin view refuses a user without the permission before the CSRF check parses the body
(``warehouse.admin_permissions.permission_before_body``; the API's operations check
permissions first already).
"""

from __future__ import annotations

import logging
from functools import cache

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.views import defaults

from config.middleware import refusal

logger = logging.getLogger(__name__)

BODY_TOO_LARGE = "the request is larger than the limit of {limit} for this address"
LENGTH_REQUIRED = "send the body with a Content-Length: a body sent in chunks without one is not read"
# Upload endpoints other than the admin's imports (found in the admin registry).
UPLOAD_URL_NAMES = frozenset({"admin:warehouse_loadbatch_upload", "api:batches", "api:batch_upload"})


class RequestBodyTooLarge(SuspiciousOperation):
    def __init__(self, limit: int):
        super().__init__(BODY_TOO_LARGE.format(limit=filesizeformat(limit)))
        self.limit = limit


def upload_request_max_bytes() -> int:
    """One upload request: its files (``ADMIN_UPLOAD_MAX_BYTES`` together) and its form."""
    return settings.ADMIN_UPLOAD_MAX_BYTES + settings.REQUEST_MAX_BYTES


@cache
def _import_url_names() -> frozenset[str]:
    from django.contrib import admin
    from import_export.admin import ImportMixin

    return frozenset(
        f"admin:{model._meta.app_label}_{model._meta.model_name}_import"
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ImportMixin)
    )


def body_limit(path_info: str) -> int:
    """The most a request to ``path_info`` may send."""
    try:
        name = resolve(path_info).view_name
    except Resolver404:
        return settings.REQUEST_MAX_BYTES
    if name in UPLOAD_URL_NAMES or name in _import_url_names():
        return upload_request_max_bytes()
    return settings.REQUEST_MAX_BYTES


def _body_refused(request, message: str, status: int) -> HttpResponse:
    """The body is not read: the answer closes the connection (the client may still send)."""
    logger.warning("%s %s: %s", request.method, request.path, message)
    return refusal(request, message, status, {"Connection": "close"})


def too_large_response(request, limit: int) -> HttpResponse:
    return _body_refused(request, BODY_TOO_LARGE.format(limit=filesizeformat(limit)), 413)


class RequestSizeMiddleware:
    """413 for a declared body over the URL's limit, 411 for a body without a length, before
    anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared:
            limit = body_limit(request.path_info)
            if declared > limit:
                return too_large_response(request, limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _body_refused(request, LENGTH_REQUIRED, 411)
        return self.get_response(request)


class BodyCapUploadHandler(FileUploadHandler):
    """Counts every uploaded byte of the request; past the URL's limit the upload stops."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = body_limit(self.request.path_info) if self.request is not None else 0
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.request is not None and self.limit and self.received > self.limit:
            for handler in self.request.upload_handlers:
                if handler is not self:
                    handler.upload_interrupted()  # the temporary file goes now, not at exit
            raise RequestBodyTooLarge(self.limit)
        return raw_data

    def file_complete(self, file_size):
        return None


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """The URL conf's 400 view: a body stopped past its limit is a 413 with its message."""
    if isinstance(exception, RequestBodyTooLarge):
        return too_large_response(request, exception.limit)
    return defaults.bad_request(request, exception, template_name)
