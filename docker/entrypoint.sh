#!/bin/sh
# Container roles: migrate | upgrade [OPTIONS] | web | worker | beat | load | healthcheck ROLE |
# any other command.
# docker-compose.yml runs one role per service, and each service's health check is
# `entrypoint.sh healthcheck ROLE`: this file is the one place that knows their commands.
set -e
worker_node="celery@${HOSTNAME:-$(hostname)}"
case "${1:-web}" in
  migrate)
    exec python manage.py migrate --no-input
    ;;
  upgrade)  # docs/operations.md, "Upgrade": refuses while a batch runs; backup, migrate, health
    shift
    exec python manage.py warehouse_upgrade "$@"
    ;;
  web)
    # Threaded workers: the worker's main loop keeps telling the master it is alive while a
    # request streams, so a long export is never cut by --timeout (a sync worker's would be).
    # --reuse-port: each worker listens on its own socket and the kernel spreads new
    # connections evenly over them; with one shared socket, whichever worker woke first took
    # most of the kept-alive connections (measured: 33, 14 and 3 of 50) and its queue was the
    # latency's tail (docs/performance.md).
    # Two workers, one a core of the 2-core host the image is sized for (a worker's Python runs
    # on one core at a time); six threads each cover the waits on the database and Redis. A
    # third worker on two cores added switching and a third, unevenly filled, queue: a longer
    # tail for the same answers (docs/performance.md). More cores: one worker each.
    exec gunicorn config.wsgi:application --bind "${WEB_BIND:-0.0.0.0:8000}" --workers "${WEB_CONCURRENCY:-2}" \
      --worker-class gthread --threads "${WEB_THREADS:-6}" --timeout 120 --reuse-port
    ;;
  worker)
    # --without-gossip: nothing here uses worker-to-worker events, and after a broker restart
    # celery's gossip step logged an ERROR with a traceback on every reconnection.
    exec celery -A config worker --loglevel INFO --concurrency "${WORKER_CONCURRENCY:-2}" --without-gossip \
      --hostname "$worker_node"
    ;;
  beat)
    # The schedule file: CELERY_BEAT_SCHEDULE_FILENAME (var/ by default).
    exec celery -A config beat --loglevel INFO
    ;;
  load)
    exec python manage.py load_invoices "${INPUT_DIR:-/app/data}"
    ;;
  healthcheck)
    case "$2" in
      web)  # /health/ over plain HTTP (exempt from the TLS redirect), as the first allowed host
        exec python -c '
import os, sys, urllib.error, urllib.request
host = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
port = os.environ.get("WEB_BIND", ":8000").rsplit(":", 1)[1]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/health/", headers={"Host": host if host not in ("", "*") else "localhost"}
)
try:
    urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as exc:  # 503: the report names the failing checks
    sys.exit("unhealthy: %s %s" % (exc.code, exc.read()[:1000].decode("utf-8", "replace")))
except Exception as exc:
    sys.exit(f"unhealthy: {exc}")
'
        ;;
      worker)  # this container's worker answers a ping
        exec celery -A config inspect ping --destination "$worker_node" --timeout 5
        ;;
      beat)  # the beat ticked within HEALTH_BEAT_STALE_SECONDS
        exec python manage.py health beat
        ;;
      *)
        echo "healthcheck: unknown role '$2' (web, worker or beat)" >&2
        exit 2
        ;;
    esac
    ;;
  *)
    exec "$@"
    ;;
esac
