"""A number in the request too large for the database is a bad request, not a server error."""

import logging

from django.http import HttpResponseBadRequest

logger = logging.getLogger(__name__)

NUMBER_TOO_LARGE = "a number in the request is too large"


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
            return HttpResponseBadRequest(NUMBER_TOO_LARGE, content_type="text/plain")
        return None
