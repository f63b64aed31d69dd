#!/bin/sh
# Container roles: web | worker | beat | load | any other command.
set -e
case "${1:-web}" in
  web)
    python manage.py migrate --no-input
    # Threaded workers: the worker's main loop keeps telling the master it is alive while a
    # request streams, so a long export is never cut by --timeout (a sync worker's would be).
    exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers "${WEB_CONCURRENCY:-3}" \
      --worker-class gthread --threads "${WEB_THREADS:-4}" --timeout 120
    ;;
  worker)
    exec celery -A config worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-2}"
    ;;
  beat)
    exec celery -A config beat --loglevel INFO --schedule /app/var/celerybeat-schedule
    ;;
  load)
    python manage.py migrate --no-input
    exec python manage.py load_invoices "${INPUT_DIR:-/app/data}"
    ;;
  *)
    exec "$@"
    ;;
esac
