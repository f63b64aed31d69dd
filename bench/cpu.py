"""CPU time used per request by each side of the concurrency benchmark: gunicorn (master and
workers), the local MariaDB/MySQL server and the clients, and the req/s their sum allows; and
the CPU weight docker-compose.yml gives the web service, given to the benchmark's gunicorn.

CPU time, unlike wall time, hardly changes when other work shares the machine: a request's
CPU per side, summed, says how many answers per second two idle cores could give.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


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


# The kernel's CPU weight of each nice value from 0 to 19 (its sched_prio_to_weight table):
# 1024 is a process's default weight, as 1024 is a container's default cpu_shares.
NICE_WEIGHTS = (1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15)


def compose_cpu_shares(service: str) -> int:
    """The CPU weight docker-compose.yml gives a service (``cpu_shares``; Docker's default 1024)."""
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
    return int(compose["services"][service].get("cpu_shares", 1024))


def shares_nice(shares: int) -> int:
    """The nice value whose kernel weight is nearest to ``shares`` (of a default 1024)."""
    return min(range(len(NICE_WEIGHTS)), key=lambda nice: abs(NICE_WEIGHTS[nice] - shares))


def weighted_start(command: list[str], shares: int, **options) -> subprocess.Popen:
    """Start ``command`` in a session of its own with the CPU weight ``shares`` (of 1024)
    against the rest of the machine, as a container's cpu_shares gives it against the other
    containers: the nice value of the nearest kernel weight, on the process (its children
    inherit it) and, with the kernel's autogroups (a desktop's or a CI runner's default), on
    its session, since the scheduler then weighs sessions against each other, not processes."""
    nice = shares_nice(shares)
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=lambda: os.nice(nice), **options)
    autogroup = Path(f"/proc/{process.pid}/autogroup")
    if nice and autogroup.exists():
        autogroup.write_text(str(nice))
    return process
