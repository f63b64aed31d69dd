"""CPU time used per request by each side of the concurrency benchmark: gunicorn (master and
workers), the local MariaDB/MySQL server and the clients, and the req/s their sum allows.

CPU time, unlike wall time, hardly changes when other work shares the machine: a request's
CPU per side, summed, says how many answers per second two idle cores could give.
"""

from __future__ import annotations

import subprocess


def server_cpu(server: subprocess.Popen) -> float:
    """CPU seconds used so far by gunicorn's master and workers."""
    import psutil

    master = psutil.Process(server.pid)
    processes = [master, *master.children(recursive=True)]
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def database_cpu() -> float | None:
    """CPU seconds used so far by the local MariaDB/MySQL server (None if there is none here).

    The server is shared: on a busy machine its figure includes other work's queries."""
    import psutil

    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("mariadbd", "mysqld"):
            try:
                return sum(process.cpu_times()[:2])
            except psutil.Error:
                return None
    return None


def cpu_line(server_ms: float, database_ms: float | None, client_ms: float) -> str:
    """The CPU per request of each side, and the req/s their sum allows on 2 idle cores."""
    total = server_ms + (database_ms or 0) + client_ms
    database = "n/a" if database_ms is None else f"{database_ms:.2f}"
    return (
        f"CPU per request: gunicorn {server_ms:.2f} ms + database {database} ms + clients {client_ms:.2f} ms"
        f" = {total:.2f} ms, at most {2000 / total:.0f} req/s on 2 idle cores"
    )


def cpu_delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before
