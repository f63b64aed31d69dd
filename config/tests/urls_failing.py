"""The project's URLs plus an API address and a page that fail: for the server-error answers."""

from django.urls import path

from config.urls import handler404, handler500  # noqa: F401 (read by Django)
from config.urls import urlpatterns as project


def _fails(request):
    raise RuntimeError("a fault of the program")


urlpatterns = [path("api/failing/", _fails), path("failing/", _fails), *project]
