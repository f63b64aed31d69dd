"""Concurrency benchmark: the dashboard and the sales API under C analysts at once.

    .venv/bin/python bench/concurrency.py [--facts 1000000] [--clients 50] [--seconds 20] [--during-load]

Builds a MariaDB warehouse of N synthetic facts (``benchdb``; its own database,
``bench_cache``, recreated unless ``--reuse``), starts gunicorn with the Docker image's own
command (``docker/entrypoint.sh web``: gthread, --reuse-port, WEB_CONCURRENCY workers x
WEB_THREADS threads, debug off, ``DJANGO_STATIC_MANIFEST=true`` over collectstatic's files;
the CPU weight docker-compose.yml gives the web service, ``--web-shares`` to try another)
with the answers cached in Redis (``--cache-url``; ``""``: each process's memory), logs C
clients in as a Finance analyst and has each of them request, for S seconds over its own
keep-alive connection, the page and every sales endpoint, without and with filters, in turn
(``clients``). Prints req/s, p50/p95/p99 per URL and overall, the errors (any answer but
200), how the connections are spread over the workers, and the CPU time per request of
gunicorn (robust to other load on the machine) and of the clients.

``--during-load``: then loads a 1,000,000-row messy file (``bench/ingest.py``'s) into the
same warehouse twice from the same state: once with no clients (its idle time), once while
the clients run (only requests made during the load count), and prints both load times.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchdb import database_recreate, facts_fill
from clients import Clients, report, warm_up
from cpu import compose_cpu_shares, cpu_delta, cpu_line, database_cpu, server_cpu, shares_nice, weighted_start
from ingest import input_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "mysql://root:@127.0.0.1:3306/bench_cache"
ANALYST = "bench-analyst"
WARM_SECONDS = 3
_LOAD = r"""
import json, sys, time, django
django.setup()
from ingestion.batches.services import batch_create, invoice_file_ingest
started = time.perf_counter()
batch = invoice_file_ingest(batch_id=batch_create(path=sys.argv[1], force=True).pk)
print(json.dumps({"batch": batch.pk, "status": batch.status, "error": batch.error,
                  "seconds": time.perf_counter() - started}))
"""


def environment(args) -> dict:
    """The web app's environment, as the image sets it (debug off, hashed static files)."""
    return {
        **os.environ,
        "ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "concurrency-benchmark-only-secret-key-0123456789abcdef",
        "DJANGO_STATIC_MANIFEST": "true",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "CACHE_URL": args.cache_url,
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }


def warehouse_prepare(args) -> str:
    """The warehouse (built unless reused), static files, and an analyst's session cookie."""
    if not args.reuse:
        database_recreate(args.database_url)
    os.environ.update(environment(args))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from warehouse.aggregates import daily_sales_refresh
    from warehouse.models import Invoice

    call_command("migrate", verbosity=0)
    if not args.reuse or not Invoice.objects.exists():
        print(f"fill {args.facts:,} facts: {facts_fill(args.facts):.1f}s", flush=True)
        started = time.perf_counter()
        daily_sales_refresh()
        print(f"aggregates: {time.perf_counter() - started:.1f}s", flush=True)
    args.facts = Invoice.objects.count()  # what the clients will read (a reused database may have grown)
    if not (ROOT / "staticfiles" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username=ANALYST, defaults={"is_staff": True})
    user.groups.set([Group.objects.get(name="Finance analyst")])
    session = SessionStore()
    session.update(
        {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[-1],
            "_auth_user_hash": user.get_session_auth_hash(),
        }
    )
    session.create()
    return f"sessionid={session.session_key}"


def image_default(variable: str) -> int:
    """The environment's value, else the image's default (``${VARIABLE:-N}`` in the entrypoint)."""
    if os.environ.get(variable):
        return int(os.environ[variable])
    found = re.search(rf"\${{{variable}:-(\d+)}}", (ROOT / "docker" / "entrypoint.sh").read_text())
    if found is None:
        sys.exit(f"docker/entrypoint.sh has no default for {variable}")
    return int(found.group(1))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_start(args, port: int) -> subprocess.Popen:
    """gunicorn started by the image's own command (``docker/entrypoint.sh web``)."""
    env = {
        **environment(args),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.workers),
        "WEB_THREADS": str(args.threads),
        "GUNICORN_CMD_ARGS": args.gunicorn_args,  # more options, for trying them
    }
    command = ["sh", str(ROOT / "docker" / "entrypoint.sh"), "web"]
    server = weighted_start(command, args.web_shares, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/visualization/dashboard/")
            probe.getresponse().read()
            return server
        except OSError:
            time.sleep(0.3)
    os.killpg(server.pid, signal.SIGTERM)
    sys.exit("gunicorn did not answer within 60 s")


def connections_per_worker(server: subprocess.Popen, port: int) -> list[int]:
    """How the clients' keep-alive connections are spread over gunicorn's workers."""
    import psutil

    counts = []
    for worker in psutil.Process(server.pid).children():
        held = worker.net_connections("tcp")
        counts.append(sum(1 for c in held if c.status == "ESTABLISHED" and c.laddr.port == port))
    return sorted(counts, reverse=True)


def load_run(args, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _LOAD, str(path)],
        cwd=ROOT,
        env=environment(args),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        sys.exit(f"the load crashed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["status"] != "succeeded":
        sys.exit(f"the load failed: {result['error']}")
    return result


def load_undo(batch_id: int) -> float:
    """Back to the state before the load: its facts and rejected rows gone, aggregates rebuilt."""
    from django.db import connection

    from warehouse.aggregates import daily_sales_refresh

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM fact_invoices WHERE batch_id = %s", [batch_id])
        cursor.execute("DELETE FROM rejected_invoices WHERE batch_id = %s", [batch_id])
    daily_sales_refresh()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=1_000_000, help="synthetic facts in the warehouse")
    parser.add_argument("--clients", type=int, default=50, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=20, help="how long the idle run lasts")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="the benchmark's own MariaDB database")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/7", help='Redis URL; "" = memory')
    parser.add_argument(
        "--workers", type=int, default=image_default("WEB_CONCURRENCY"), help="gunicorn workers"
    )
    parser.add_argument(
        "--threads", type=int, default=image_default("WEB_THREADS"), help="threads per worker"
    )
    parser.add_argument("--gunicorn-args", default="", help="more gunicorn options (GUNICORN_CMD_ARGS)")
    parser.add_argument(
        "--web-shares",
        type=int,
        default=compose_cpu_shares("web"),
        help="gunicorn's CPU weight against the load's 1024 (default: docker-compose.yml's for web)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    parser.add_argument("--during-load", action="store_true", help="also measure during a 1M-row load")
    parser.add_argument("--load-rows", type=int, default=1_000_000, help="rows of the --during-load file")
    args = parser.parse_args()

    cookie = warehouse_prepare(args)
    port = free_port()
    server = gunicorn_start(args, port)
    cache = args.cache_url or "memory"
    print(f"gunicorn: {args.workers} workers x {args.threads} threads on port {port}; cache {cache}")
    print(f"gunicorn's CPU weight: {args.web_shares} against 1024 (nice {shares_nice(args.web_shares)})")
    try:
        warm_up(port, cookie)
        clients = Clients(count=args.clients, port=port, cookie=cookie)
        clients.start()
        time.sleep(WARM_SECONDS)  # every worker and thread has answered once
        began, cpu, database = time.perf_counter(), server_cpu(server), database_cpu()
        time.sleep(args.seconds)
        ended, cpu, database = (
            time.perf_counter(),
            server_cpu(server) - cpu,
            cpu_delta(database_cpu(), database),
        )
        spread = connections_per_worker(server, port)
        clients.finish()
        counted = [s for s in clients.samples if began <= s[1] <= ended]
        idle = report(f"idle, {args.clients} clients, {args.facts:,} facts", counted, ended - began)
        print(f"connections per worker: {spread}")
        cpu_idle = cpu * 1000 / max(1, len(counted))
        database_ms = None if database is None else database * 1000 / max(1, len(counted))
        print(cpu_line(cpu_idle, database_ms, clients.cpu_seconds * 1000 / max(1, len(clients.samples))))
        if args.during_load:
            path = input_file(args.load_rows)
            alone = load_run(args, path)
            print(f"\nload of {args.load_rows:,} rows, no clients: {alone['seconds']:.1f}s")
            print(f"(undone in {load_undo(alone['batch']):.1f}s)")
            clients = Clients(count=args.clients, port=port, cookie=cookie)
            clients.start()
            time.sleep(2)
            began, cpu = time.perf_counter(), server_cpu(server)
            busy = load_run(args, path)
            ended, cpu = time.perf_counter(), server_cpu(server) - cpu
            clients.finish()
            during = [s for s in clients.samples if began <= s[1] <= ended]
            loaded = report(f"during the load, {args.clients} clients", during, ended - began)
            loaded["cpu_ms"] = cpu * 1000 / max(1, len(during))
            ratio = busy["seconds"] / alone["seconds"]
            print(f"gunicorn CPU: {loaded['cpu_ms']:.2f} ms per request")
            print(
                f"\nload: {busy['seconds']:.1f}s with clients vs {alone['seconds']:.1f}s idle ({ratio:.2f}x);"
                f" p95 during it {loaded['p95']:.0f} ms"
            )
        idle["cpu_ms"] = cpu_idle
        print()
        for name, line in (("idle", idle), ("during_load", loaded if args.during_load else None)):
            if line:
                print(
                    f"SUMMARY {name} req_s={line['req_s']:.0f} p50_ms={line['p50']:.0f}"
                    f" p95_ms={line['p95']:.0f} p99_ms={line['p99']:.0f} errors={line['errors']}"
                    f" server_cpu_ms={line['cpu_ms']:.2f}"
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    from figures import figures_write, records_table

    runs = {"idle": idle}
    if args.during_load:
        loaded.update(load_seconds=busy["seconds"], alone_seconds=alone["seconds"])
        runs["during the load"] = loaded
    note = (
        f"{args.facts:,} facts, {args.clients} clients; p50-p99, CPU: ms; connections per worker {spread};"
        f" gunicorn's CPU weight {args.web_shares} against 1024"
    )
    figures_write("performance.md", "concurrency", records_table(runs), note)


if __name__ == "__main__":
    main()
