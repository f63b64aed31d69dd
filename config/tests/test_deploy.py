"""Production settings and the container entry point, run as real processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.process  # manage.py and the entry point as real processes


def manage(*args, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, **kwargs
    )


def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite:///:memory:", **extra})
    return env


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env=production_env())
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    env = production_env(
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x7Qp" * 10,
        DJANGO_ALLOWED_HOSTS="invoices.example.com",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_entrypoint_migrate_then_load_roles_load_against_mysql(tmp_path, seed_file):
    if connection.vendor != "mysql":
        pytest.skip("the containers run on MySQL")
    import MySQLdb

    settings = connection.settings_dict
    name = f"{settings['NAME']}_entrypoint"[:64]  # beside this run's own test database
    server = MySQLdb.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 3306),
        user=settings["USER"],
        passwd=settings["PASSWORD"],
    )
    server.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    server.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "export.csv").write_bytes(seed_file.read_bytes())
        env = production_env(
            DJANGO_SECRET_KEY="entrypoint-check-secret",
            DB_HOST=settings["HOST"] or "127.0.0.1",
            DB_PORT=str(settings["PORT"] or 3306),
            MYSQL_DATABASE=name,
            MYSQL_USER=settings["USER"],
            MYSQL_PASSWORD=settings["PASSWORD"],
            INPUT_DIR=str(tmp_path / "in"),
        )
        env.pop("DATABASE_URL")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        for role in ("migrate", "load"):  # compose runs the one-shot migrate service first
            result = subprocess.run(
                ["docker/entrypoint.sh", role], cwd=ROOT, env=env, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stderr
        assert "succeeded" in result.stdout and "9,011" in result.stdout
    finally:
        server.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        server.close()
