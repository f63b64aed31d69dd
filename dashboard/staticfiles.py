"""Serve Plotly's JavaScript from the installed ``plotly`` package (no CDN, works offline).

A static files finder that exposes exactly one file, ``plotly/plotly.min.js``, so
``collectstatic`` (and whitenoise) pick it up without copying the package's datasets.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly/plotly.min.js"
PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=PACKAGE_DATA)
        self.storage.prefix = "plotly"

    def check(self, **kwargs):
        if not (PACKAGE_DATA / "plotly.min.js").is_file():
            return [Error(f"plotly.min.js not found in {PACKAGE_DATA}", id="dashboard.E001")]
        return []

    def find(self, path, find_all=False):
        if path == PLOTLY_JS and (PACKAGE_DATA / "plotly.min.js").is_file():
            found = str(PACKAGE_DATA / "plotly.min.js")
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns):
        yield "plotly.min.js", self.storage
