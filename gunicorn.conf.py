"""gunicorn reads this file from its working directory (this folder; /app in the image).

The settings are loaded here, in the master, before any worker starts: a setting that cannot
work (no ``DJANGO_SECRET_KEY`` with debug off, a ``DATABASE_URL`` without a scheme) ends gunicorn
with the one line ``manage.py`` gives for it and exit status 1, instead of a worker's traceback.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.cli import settings_load_or_exit

settings_load_or_exit()
