"""docker-compose.yml proven without Docker: every service's command runs through
docker/entrypoint.sh with the values compose gives it (compose.env made from .env.example plus a
secret, then the service's own ``environment``), the hosts ``db`` and ``redis`` mapped to the local
MariaDB (a database of its own) and Redis (TEST_CELERY_BROKER_URL), and each long-running
service's own healthcheck command is run until it passes. Production settings: debug off, TLS
redirect and secure cookies on."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from django.db import connection

from config.tests.env_files import env_file_values

pytestmark = pytest.mark.process  # starts real processes (docs/development.md)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat", "load")
LONG_RUNNING = ("web", "worker", "beat")
BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
CONTAINER_DIR = "/app"  # the image's WORKDIR: this checkout plays it
HEALTHY_DEADLINE_SECONDS = 240


def test_long_running_services_restart_and_one_shot_services_run_once():
    for name in ("db", "redis", *LONG_RUNNING):
        assert SERVICES[name]["restart"] == "unless-stopped", name
    for name in ("migrate", "load"):
        assert SERVICES[name]["restart"] == "no", name


def test_every_app_service_waits_for_the_migrations_and_the_load_for_healthy_web_and_worker():
    for name in LONG_RUNNING:
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert SERVICES["load"]["depends_on"]["web"] == {"condition": "service_healthy"}
    assert SERVICES["load"]["depends_on"]["worker"] == {"condition": "service_healthy"}
    assert "migrate" not in SERVICES["migrate"]["depends_on"]


def test_the_web_service_has_under_half_the_cpu_weight_of_the_load_and_the_benchmark_gives_it_that():
    """docs/operations.md#what-runs: a load keeps its pace while analysts ask."""
    default = 1024  # Docker's cpu_shares when none is given
    web = SERVICES["web"]["cpu_shares"]
    for name in ("db", "worker", "load"):
        assert SERVICES[name].get("cpu_shares", default) > 2 * web, name
    spec = importlib.util.spec_from_file_location("bench_cpu", ROOT / "bench" / "cpu.py")
    assert spec is not None and spec.loader is not None
    cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu)
    assert cpu.compose_cpu_shares("web") == web
    assert [cpu.shares_nice(shares) for shares in (default, web, 15)] == [0, 4, 19]
    process = cpu.weighted_start(["sleep", "30"], web)
    try:
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == 4
        autogroup = Path(f"/proc/{process.pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().split()[-1] == "4"
    finally:
        process.kill()
        process.wait()


def test_compose_reads_its_own_env_file_and_no_file_inside_the_containers():
    for name in APP_SERVICES:
        assert SERVICES[name]["env_file"] == "compose.env", name
        assert SERVICES[name]["environment"]["ENV_FILE"] == "", name
    assert SERVICES["db"]["env_file"] == "compose.env"
    assert "${" not in (ROOT / "docker-compose.yml").read_text()  # the demo's .env interpolates nothing
    for ignore in (".gitignore", ".dockerignore"):
        assert "compose.env" in (ROOT / ignore).read_text().split(), ignore


def test_the_broker_appends_every_write_to_a_volume():
    redis = SERVICES["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis" in COMPOSE["volumes"]


def test_each_long_running_service_is_checked_through_the_entrypoint():
    for name in LONG_RUNNING:
        assert SERVICES[name]["healthcheck"]["test"] == [
            "CMD",
            f"{CONTAINER_DIR}/docker/entrypoint.sh",
            "healthcheck",
            name,
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def mariadb_database():
    """A database of its own on the test run's MariaDB, dropped afterwards; the broker's Redis
    db without queued messages or beat ticks, before and after."""
    if connection.vendor != "mysql":
        pytest.skip("the containers run on MySQL: run with DATABASE_URL=mysql://...")
    if not _redis_reachable():
        pytest.skip(f"Redis not reachable at {BROKER_URL}")
    import MySQLdb

    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": int(settings["PORT"] or 3306),
        "user": settings["USER"],
        "passwd": settings["PASSWORD"],
    }
    name = f"test_{settings['NAME']}_compose"[:64]
    admin = MySQLdb.connect(**server)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    admin.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    _broker_clear()
    try:
        yield {**server, "name": name}
    finally:
        _broker_clear()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def _broker_clear() -> None:
    """Only this test's own keys: the queue and the cache (beat ticks) of this Redis db."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    for key in client.scan_iter("cache:*"):
        client.delete(key)


@pytest.fixture
def service_env(mariadb_database, tmp_path):
    """``service_env(name)``: the environment compose gives that service, mapped to this machine."""
    compose_env = {**env_file_values(ROOT / ".env.example"), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    web_bind = f"127.0.0.1:{_free_port()}"
    node = f"compose-test-{uuid.uuid4().hex[:8]}"
    data_volume = next(v for v in SERVICES["load"]["volumes"] if v.split(":")[1] == f"{CONTAINER_DIR}/data")

    def make(name: str) -> dict[str, str]:
        values = {**compose_env, **{key: str(value) for key, value in SERVICES[name]["environment"].items()}}
        assert (values["DB_HOST"], values["DB_PORT"]) == ("db", "3306")
        assert values["REDIS_URL"] == "redis://redis:6379/0"
        assert values["DJANGO_DEBUG"] == "false" and values["DJANGO_SECURE_SSL_REDIRECT"] == "true"
        values.update(
            DB_HOST=mariadb_database["host"],
            DB_PORT=str(mariadb_database["port"]),
            MYSQL_DATABASE=mariadb_database["name"],
            MYSQL_USER=mariadb_database["user"],
            MYSQL_PASSWORD=mariadb_database["passwd"],
            REDIS_URL=BROKER_URL,
            INPUT_DIR=str(ROOT / data_volume.split(":")[0]),
            MEDIA_ROOT=str(tmp_path / "media"),
            LOG_DIR=str(tmp_path / "log"),
            LOAD_TMP_DIR=str(tmp_path / "tmp"),
            CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "celerybeat-schedule"),
            WEB_BIND=web_bind,  # the container's 0.0.0.0:8000, on a free local port
            HOSTNAME=node,  # the container's host name: the worker's node name
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            PYTHONUNBUFFERED="1",
        )
        return values

    return make


def _container_command(command: list[str]) -> list[str]:
    return [
        str(ROOT / part[len(CONTAINER_DIR) + 1 :]) if part.startswith(f"{CONTAINER_DIR}/") else part
        for part in command
    ]


def _run_one_shot(name: str, env: dict, log_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "docker" / "entrypoint.sh"), *SERVICES[name]["command"]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def _healthcheck_until_it_passes(name: str, env: dict, process: subprocess.Popen, log: Path) -> None:
    test = SERVICES[name]["healthcheck"]["test"]
    assert test[0] == "CMD"
    deadline = time.monotonic() + HEALTHY_DEADLINE_SECONDS
    while True:
        assert process.poll() is None, f"{name} exited {process.returncode}:\n{log.read_text()[-3000:]}"
        check = subprocess.run(
            _container_command(test[1:]), cwd=ROOT, env=env, capture_output=True, text=True
        )
        if check.returncode == 0:
            return
        assert time.monotonic() < deadline, (
            f"{name} never healthy: {check.stdout}{check.stderr}\n{log.read_text()[-3000:]}"
        )
        time.sleep(2)


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.database  # the MariaDB pass: the containers' database is the local server
@pytest.mark.slow
def test_the_stack_comes_up_healthy_with_production_values_and_loads_data(service_env, tmp_path):
    migrate = _run_one_shot("migrate", service_env("migrate"), tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    # docs/operations.md's upgrade: `docker compose run --rm migrate upgrade --no-backup --wait 600`
    upgrade = subprocess.run(
        [str(ROOT / "docker" / "entrypoint.sh"), "upgrade", "--no-backup", "--wait", "600"],
        cwd=ROOT,
        env=service_env("migrate"),
        capture_output=True,
        text=True,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.strip() == "the database is up to date: no migration to apply"

    processes: dict[str, subprocess.Popen] = {}
    logs = {name: tmp_path / f"{name}.log" for name in LONG_RUNNING}
    try:
        for name in LONG_RUNNING:
            with logs[name].open("w") as log:
                processes[name] = subprocess.Popen(
                    [str(ROOT / "docker" / "entrypoint.sh"), *SERVICES[name]["command"]],
                    cwd=ROOT,
                    env=service_env(name),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        for name in LONG_RUNNING:
            _healthcheck_until_it_passes(name, service_env(name), processes[name], logs[name])

        load = _run_one_shot("load", service_env("load"), tmp_path)
        assert load.returncode == 0, load.stderr + load.stdout
        assert "succeeded" in load.stdout
    finally:
        _stop(processes)
    assert (tmp_path / "celerybeat-schedule").exists() or list(tmp_path.glob("celerybeat-schedule*"))
