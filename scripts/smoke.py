#!/usr/bin/env python3
"""First-run smoke test: what a new user sees after `git clone` and `make demo`.

Clones the repository (its committed HEAD) into a temporary folder, runs `make demo PORT=<free
port>` there in the background as a new user would (no DATABASE_URL, broker or DJANGO_*
variables), waits a bounded time for the admin login page, then checks: the admin login page
and the static files answer 200, the demo admin logs in with the password `make demo` printed,
the dashboard answers 200 and the API counts the sample's invoices, and the clone is still
clean (`git status`). The server is stopped and the folder removed at the end.

    scripts/smoke.py [--repo PATH] [--timeout SECONDS] [--venv PATH] [--keep]

--venv links an existing virtualenv into the clone instead of creating a new one (faster;
`make install` still runs, so a stale one is brought up to date). Exit status 0 when every
check passed.
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = re.compile(r"Admin account created: (\S+) / (\S+)")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Variables of this shell that would make the clone something other than a first run.
FOREIGN_ENV = ("DATABASE_URL", "DB_HOST", "CELERY_BROKER_URL", "REDIS_URL", "ENV_FILE", "VIRTUAL_ENV")
FOREIGN_PREFIXES = ("DJANGO_", "MAKE", "MFLAGS", "SCREENSHOT_DIR", "PYTEST")


class SmokeFailure(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_run_env() -> dict:
    return {
        key: value
        for key, value in os.environ.items()
        if key not in FOREIGN_ENV and not key.startswith(FOREIGN_PREFIXES)
    }


class Browser:
    """A cookie-keeping HTTP client that prints every request it makes."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.monotonic()
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as response:
                status, url, text = response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            status, url, text = error.code, error.url, error.read().decode(errors="replace")
        final = urllib.parse.urlparse(url).path
        redirect = f" (after redirects: {final})" if final != urllib.parse.urlparse(path).path else ""
        method = "POST" if body else "GET"
        print(f"  {method} {path} -> {status}{redirect} in {time.monotonic() - started:.2f} s", flush=True)
        return status, final, text

    def expect(self, path: str, data: dict | None = None, final: str | None = None) -> str:
        status, landed, text = self.request(path, data)
        if status != 200:
            raise SmokeFailure(f"{path} answered {status}")
        if final is not None and landed != final:
            raise SmokeFailure(f"{path} ended at {landed}, expected {final}")
        return text


def wait_for_demo(server: subprocess.Popen, log: Path, base: str, deadline: float) -> tuple[str, str]:
    """Poll until the admin login answers; return the demo admin's (username, password)."""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeFailure(f"make demo exited with status {server.returncode}")
        account = PASSWORD.search(log.read_text(errors="replace"))
        if account:
            try:
                with urllib.request.urlopen(base + "/admin/login/", timeout=5) as response:
                    if response.status == 200:
                        return account.group(1), account.group(2)
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(1)
    raise SmokeFailure("the demo did not answer in time")


def check_demo(base: str, username: str, password: str) -> None:
    browser = Browser(base)
    page = browser.expect("/admin/login/")
    token = CSRF.search(page)
    if not token:
        raise SmokeFailure("no CSRF token on the admin login page")
    credentials = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
    browser.expect("/admin/login/?next=/admin/", credentials | {"next": "/admin/"}, final="/admin/")
    page = browser.expect("/visualization/dashboard/", final="/visualization/dashboard/")
    static = re.search(r'src="(/static/[^"]+\.js)"', page)
    if not static:
        raise SmokeFailure("the dashboard links no script under /static/")
    browser.expect(static.group(1))
    kpis = json.loads(browser.expect("/api/sells/kpis/"))["results"]
    batch = kpis.get("latest_batch") or {}
    if not kpis["invoice_count"] or batch.get("status") != "succeeded":
        raise SmokeFailure(f"no invoices loaded: {kpis}")
    print(
        f"  loaded: {batch['file_name']}, {batch['rows_loaded']:,} of {batch['rows_read']:,} rows"
        f" (batch #{batch['id']}); the dashboard counts {kpis['invoice_count']:,} invoices",
        flush=True,
    )


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def smoke(repo: Path, timeout: float, venv: Path | None, folder: Path) -> None:
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    if venv is not None:
        (clone / ".venv").symlink_to(venv.resolve())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "demo.log"
    print(f"smoke: make demo PORT={port} in {clone} (log: {log})", flush=True)
    started = time.monotonic()
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "demo", f"PORT={port}"],
            cwd=clone,
            env=first_run_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        username, password = wait_for_demo(server, log, base, started + timeout)
        print(f"smoke: the demo answered after {time.monotonic() - started:.0f} s", flush=True)
        check_demo(base, username, password)
    except SmokeFailure:
        print("smoke: the end of make demo's output:", file=sys.stderr)
        print("".join(log.read_text(errors="replace").splitlines(True)[-40:]), file=sys.stderr)
        raise
    finally:
        stop(server)
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout
    if dirty:
        raise SmokeFailure(f"make demo left the clone modified:\n{dirty}")
    print(f"smoke: passed in {time.monotonic() - started:.0f} s (server stopped)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to clone (default: this one)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for make demo to answer")
    parser.add_argument("--venv", type=Path, help="link this virtualenv instead of creating one")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="invoice-smoke-"))
    try:
        smoke(args.repo, args.timeout, args.venv, folder)
    except (SmokeFailure, subprocess.CalledProcessError) as error:
        print(f"smoke: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"smoke: kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
