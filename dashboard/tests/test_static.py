"""The vendored Plotly bundle, and static files as production serves them (whitenoise)."""

import importlib
import re
import sys
from pathlib import Path

import plotly.offline
import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.templatetags.static import static
from django.test import Client

import config.settings
from dashboard import figures
from dashboard.charts import CHARTS

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = "dashboard/vendor/plotly-basic-4.1.1.min.js"
PRODUCTION_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_vendored_bundle_matches_the_plotly_package_and_holds_every_trace_type():
    found = finders.find(BUNDLE)
    assert found is not None, BUNDLE
    path = Path(found)
    text = path.read_text(encoding="utf-8")
    named = re.search(r"plotly\.js \(basic - minified\) v(\S+)", text[:300])
    assert named is not None
    version = named.group(1)
    assert version == plotly.offline.get_plotlyjs_version()  # the schema the figures are built for
    assert version in BUNDLE
    traces = set(re.findall(r'moduleType:"trace",name:"(\w+)"', text))
    assert set(figures.TRACE_TYPES) <= traces
    assert (path.parent / "plotly-LICENSE.txt").read_text().startswith("MIT License")


@pytest.mark.django_db
@pytest.mark.vendor_neutral  # the page's traces and the bundle's, whatever the database
def test_the_page_uses_only_traces_of_the_bundle(user_client, known):
    from dashboard.tests.test_views import figures as page_figures

    figs = page_figures(user_client.get("/visualization/dashboard/"))
    assert set(figs) == set(CHARTS)
    assert {trace["type"] for figure in figs.values() for trace in figure["data"]} <= set(figures.TRACE_TYPES)


@pytest.mark.slow  # collectstatic compresses every file, Brotli and gzip
def test_production_static_files_are_compressed_and_cached_for_long(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = PRODUCTION_STORAGE
    call_command("collectstatic", "--no-input", verbosity=0)
    url = static(BUNDLE)
    assert re.fullmatch(r"/static/dashboard/vendor/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js", url)
    assert not list(tmp_path.glob("plotly/*"))  # the 4.8 MB full bundle is not shipped

    client = Client()  # a new handler: whitenoise indexes the collected files
    for encoding in ("br", "gzip"):
        response = client.get(url, headers={"accept-encoding": encoding})
        assert isinstance(response, StreamingHttpResponse)  # a file, served as it is read
        body = b"".join(response.streaming_content)
        assert (response.status_code, response["Content-Encoding"]) == (200, encoding)
        assert len(body) < 400_000  # of 1.19 MB
        assert "immutable" in response["Cache-Control"]
        assert max_age(response["Cache-Control"]) >= 365 * 24 * 3600


def max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    assert found is not None, cache_control
    return int(found.group(1))


def _settings_read_again() -> dict:
    """``config.settings`` as a new process would read it from this environment (every module
    of the package evaluated again); the running settings are left as they were."""
    package = [n for n in sys.modules if n == "config.settings" or n.startswith("config.settings.")]
    saved = {n: sys.modules.pop(n) for n in package}
    try:
        return dict(vars(importlib.import_module("config.settings")))
    finally:
        for name in [n for n in sys.modules if n == "config.settings" or n.startswith("config.settings.")]:
            del sys.modules[name]
        sys.modules.update(saved)
        config.settings = saved["config.settings"]


@pytest.mark.django_db
@pytest.mark.vendor_neutral  # collectstatic and whitenoise, whatever the database: runs once
def test_make_demo_serves_the_plotly_bundle_hashed_compressed_and_cached_for_long(
    tmp_path, settings, user_client, known, monkeypatch
):
    """The settings `make demo` runs with (DEBUG on, from the .env it writes, plus the
    Makefile's DEMO_STATIC), after its collectstatic."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(DEMO_STATIC) $(BIN)/python manage.py collectstatic" in makefile
    assert "$(DEMO_STATIC) $(BIN)/python manage.py runserver" in makefile
    demo_static = re.search(r"^DEMO_STATIC := (.+)$", makefile, re.M)
    assert demo_static is not None
    demo_env = dict(word.split("=", 1) for word in demo_static[1].split())
    for name, value in {"ENV_FILE": "", "DJANGO_DEBUG": "true", **demo_env}.items():
        monkeypatch.setenv(name, value)
    demo = _settings_read_again()
    assert demo["DEBUG"] is True
    for name in ("DEBUG", "STORAGES", *(name for name in demo if name.startswith("WHITENOISE_"))):
        setattr(settings, name, demo[name])
    settings.STATIC_ROOT = tmp_path
    call_command(
        "collectstatic", "--no-input", verbosity=0, ignore_patterns=["admin", "ninja", "import_export"]
    )

    page = user_client.get("/visualization/dashboard/").content.decode()
    src = re.search(r'src="(/static/dashboard/vendor/plotly[^"]+)"', page)
    assert src is not None
    url = src[1]
    assert re.fullmatch(r"/static/dashboard/vendor/plotly-basic-4\.1\.1\.min\.[0-9a-f]{12}\.js", url)
    response = user_client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    body = b"".join(response.streaming_content)
    assert (response.status_code, response["Content-Encoding"]) == (200, "br")
    assert len(body) < 400_000  # of 1.19 MB
    assert "immutable" in response["Cache-Control"]
    assert max_age(response["Cache-Control"]) >= 365 * 24 * 3600
