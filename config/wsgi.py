import os

from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.connections import hung_up_connections_close  # noqa: E402 (needs the settings)

request_started.connect(hung_up_connections_close)
