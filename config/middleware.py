"""Requests the program cannot answer as asked, that are not its fault: an address that does
not exist, a number too large for the database, a database that cannot be reached.

Every such answer (and the request-size refusals, ``config.request_limits``) has one shape:
JSON ``{"error": ...}`` under ``/api/``, plain text elsewhere (``refusal``), but for the pages'
404, Django's page.
"""

import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from log_request_id.middleware import RequestIDMiddleware

from config.cli import database_mistake

logger = logging.getLogger(__name__)

NUMBER_TOO_LARGE = "a number in the request is too large"
NOT_FOUND = "no such address"
SERVER_ERROR = "an unexpected error: the server's log has it under the request id {request_id}"
DATABASE_UNAVAILABLE = "the database is not available at the moment; try again shortly"
RETRY_AFTER_SECONDS = 10


def _api(request) -> bool:
    return request.path_info.startswith("/api/")


def refusal(request, message: str, status: int, headers: dict | None = None) -> HttpResponse:
    """``message`` answered with ``status``: JSON under ``/api/``, plain text elsewhere."""
    if _api(request):
        return JsonResponse({"error": message}, status=status, headers=headers)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8", headers=headers)


def not_found(request, exception):
    """``handler404``: under ``/api/``, JSON like every other API answer; elsewhere Django's page."""
    if _api(request):
        return refusal(request, NOT_FOUND, 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """``handler500``: under ``/api/``, JSON naming the request id its log lines carry (the
    response's ``X-Request-ID``); elsewhere Django's page."""
    if _api(request):
        return refusal(request, SERVER_ERROR.format(request_id=getattr(request, "id", "")), 500)
    return defaults.server_error(request)


class NumberTooLargeMiddleware:
    """SQLite cannot bind an integer above 2**63 - 1. Django's own lookups refuse most such
    values, but not every admin filter does (``?batch__id__exact=9999...9``, ``?id__in=``);
    this answers 400 for that one database error, wherever a parameter reaches a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError) and "too large to convert to SQLite" in str(exception):
            logger.info("%s: %s", request.path, exception)
            return refusal(request, NUMBER_TOO_LARGE, 400)
        return None


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached (stopped, restarting, refusing logins) or is not
    migrated answers 503 with ``Retry-After``, and the log gets the one line that names the
    cause (``config.cli.database_mistake``), not a traceback: it is the operator's to fix,
    not a fault of the program. Any other database error is still a 500 with its traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError) or (line := database_mistake(exception)) is None:
            return None
        logger.error("%s %s: %s", request.method, request.path, line)
        return refusal(request, DATABASE_UNAVAILABLE, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


class RequestLogMiddleware(RequestIDMiddleware):
    """django-log-request-id's middleware (the request id; one line per request naming its
    user), whose line leaves the user out when the database cannot say who it is: reading the
    session after the answer, outside any view, turned a 503 (or any answer that had not read
    the user) into a 500 with a traceback while the database was down."""

    def get_log_message(self, request, response):
        try:
            return super().get_log_message(request, response)
        except DatabaseError:
            return f"method={request.method} path={request.path} status={response.status_code}"
