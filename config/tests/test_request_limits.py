"""A request body over its URL's limit is refused with 413 before it is read, and a user
without the permission is refused before a write endpoint parses the body."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from config.request_limits import BODY_TOO_LARGE, upload_request_max_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.vendor_neutral]  # refused before the body is read: runs once

KIB = 1024
# upload URL -> the name of its file field
UPLOAD_URLS = {
    "/admin/warehouse/loadbatch/upload/": "files",
    "/api/batches/": "file",
    "/admin/warehouse/customer/import/": "import_file",
    "/admin/warehouse/item/import/": "import_file",
    "/admin/warehouse/status/import/": "import_file",
}


@pytest.fixture
def small_limits(settings):
    settings.REQUEST_MAX_BYTES = 4 * KIB
    settings.ADMIN_UPLOAD_MAX_BYTES = 16 * KIB


def _file(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("invoices.csv", b"x" * size, content_type="text/csv")


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(small_limits):
    client = Client(raise_request_exception=False)
    response = client.post("/admin/login/", {"username": "a", "f": _file(5 * KIB)})
    assert response.status_code == 413
    assert response.content.decode() == BODY_TOO_LARGE.format(limit="4.0\xa0KB")
    # Django's private flag of a request whose body was read, not in django-stubs.
    assert response.wsgi_request._read_started is False  # type: ignore[attr-defined]
    api = client.post("/api/sells/kpis/", {"f": _file(5 * KIB)})
    assert (api.status_code, api.json()) == (413, {"error": BODY_TOO_LARGE.format(limit="4.0\xa0KB")})


@pytest.mark.parametrize("url", UPLOAD_URLS)
def test_upload_endpoints_take_the_upload_limit_and_no_more(small_limits, admin_client, url):
    admin_client.raise_request_exception = False
    assert upload_request_max_bytes() == 20 * KIB
    accepted = admin_client.post(url, {UPLOAD_URLS[url]: _file(15 * KIB)})
    assert accepted.status_code != 413
    refused = admin_client.post(url, {UPLOAD_URLS[url]: _file(21 * KIB)})
    assert refused.status_code == 413
    assert refused.wsgi_request._read_started is False


class SpoolProbe(TemporaryFileUploadHandler):
    """Django's temporary-file handler, recording the largest its file grew."""

    largest = 0

    def receive_data_chunk(self, raw_data, start):
        super().receive_data_chunk(raw_data, start)
        self.file.flush()
        SpoolProbe.largest = max(SpoolProbe.largest, os.path.getsize(self.file.temporary_file_path()))


def test_the_upload_handler_stops_a_body_past_the_limit_whatever_it_declared(
    small_limits, admin_client, settings, tmp_path
):
    """Without the Content-Length check (an ASGI server, a body of unknown length): the
    handler stops the upload at the limit and the temporary file is removed."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("RequestSizeMiddleware")]
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.FILE_UPLOAD_HANDLERS = [
        "config.request_limits.BodyCapUploadHandler",
        f"{__name__}.SpoolProbe",
    ]
    settings.ADMIN_UPLOAD_MAX_BYTES = 256 * KIB  # several of the parser's 64 KiB chunks
    SpoolProbe.largest = 0
    admin_client.raise_request_exception = False
    response = admin_client.post("/admin/warehouse/loadbatch/upload/", {"files": _file(1024 * KIB)})
    assert response.status_code == 413
    assert 0 < SpoolProbe.largest <= upload_request_max_bytes()
    assert list(tmp_path.iterdir()) == []


def test_a_user_without_the_permission_is_refused_before_the_body_is_read(staff_user, logged_in):
    analyst = staff_user("analyst", "view_sales", "view_loadbatch", "view_customer")
    client = logged_in(analyst, enforce_csrf_checks=True)
    client.cookies["csrftoken"] = get_token(RequestFactory().get("/"))  # CSRF would read the body
    for url, field in UPLOAD_URLS.items():
        response = client.post(url, {field: _file(64 * KIB)})
        assert response.status_code == 403, url
        assert response.wsgi_request._read_started is False, url
