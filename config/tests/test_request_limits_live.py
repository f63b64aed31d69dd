"""A 1 GiB body against the real server (gunicorn, as the image runs it): refused with 413
after its headers, while the client is still sending; the worker's memory and temporary
folder stay flat."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.process  # starts real processes (docs/development.md)

ROOT = Path(__file__).resolve().parents[2]
GIB = 1 << 30
BLOCK = b"x" * (64 * 1024)
DEADLINE = 60


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """A gunicorn serving the project on a free port; its temporary folder is ``spool``."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    spool, worker_tmp = tmp_path / "spool", tmp_path / "worker"
    spool.mkdir()
    worker_tmp.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "TMPDIR": str(spool),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:0"]
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as stderr:  # a file, not a pipe nobody drains
        process = subprocess.Popen(
            [*command, "--workers", "1", "--worker-tmp-dir", str(worker_tmp)],
            cwd=ROOT,
            env=env,
            stderr=stderr,
        )
    port = None
    deadline = time.monotonic() + DEADLINE
    while port is None and time.monotonic() < deadline and process.poll() is None:
        if match := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text()):
            port = int(match[1])
        time.sleep(0.1)
    assert port is not None, f"gunicorn did not start: {log.read_text()}"
    while not psutil.Process(process.pid).children() and time.monotonic() < deadline:
        time.sleep(0.1)
    yield port, spool, psutil.Process(process.pid).children()[0]
    process.terminate()
    process.wait(timeout=DEADLINE)


def _spooled(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _send_until_answered(
    port: int, path: str, spool: Path, *, chunked: bool = False
) -> tuple[bytes, int, int]:
    """POST a 1 GiB multipart body block by block (declared, or chunked without a length),
    stopping once the server answers. Returns (the answer, bytes of body sent, the largest
    temporary folder seen)."""
    sock = socket.create_connection(("127.0.0.1", port))
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {GIB}"
    block = b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK) if chunked else BLOCK
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n"
        f"Content-Type: multipart/form-data; boundary=b\r\nCookie: csrftoken={'a' * 32}\r\n\r\n"
        '--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    )
    sock.sendall(head.encode() if not chunked else head.encode().split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    sent, largest, deadline = 0, 0, time.monotonic() + DEADLINE
    while sent < GIB and time.monotonic() < deadline:
        if select.select([sock], [], [], 0.01)[0]:
            break
        try:
            sock.sendall(block)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(BLOCK)
        largest = max(largest, _spooled(spool))
    answer = b""
    sock.settimeout(DEADLINE)
    while chunk := sock.recv(4096):  # the server closes the connection after its answer
        answer += chunk
    sock.close()
    return answer, sent, max(largest, _spooled(spool))


@pytest.mark.parametrize("path", ["/admin/login/", "/api/batches/", "/admin/warehouse/loadbatch/upload/"])
def test_a_one_gib_body_is_refused_before_it_is_read(gunicorn, path):
    port, spool, worker = gunicorn
    _send_until_answered(port, path, spool)  # the worker's first request imports the views
    rss_before = worker.memory_info().rss
    answer, sent, spooled = _send_until_answered(port, path, spool)
    rss_growth = worker.memory_info().rss - rss_before
    print(
        f"{path}: {sent / 2**20:.1f} MiB sent before the answer, {spooled} bytes spooled, "
        f"worker RSS +{rss_growth / 2**20:.1f} MiB"
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"is larger than the limit" in answer
    assert sent < 64 * 2**20  # the client learnt at once: a few blocks left before the answer
    assert spooled == 0
    assert rss_growth < 50 * 2**20


@pytest.mark.parametrize("path", ["/admin/login/", "/api/batches/", "/api/rejected/reprocess/"])
def test_a_chunked_body_without_a_length_is_refused_unread_saying_so(gunicorn, path):
    """Django reads no body a request does not declare: answered at once (411, saying what to
    send, not the error of an empty body), nothing spooled."""
    port, spool, worker = gunicorn
    rss_before = worker.memory_info().rss
    answer, sent, spooled = _send_until_answered(port, path, spool, chunked=True)
    rss_growth = worker.memory_info().rss - rss_before
    assert answer.startswith(b"HTTP/1.1 411"), answer[:200]
    assert b"send the body with a Content-Length" in answer
    assert sent < 64 * 2**20
    assert spooled == 0
    assert rss_growth < 50 * 2**20
