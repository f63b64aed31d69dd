"""The benchmark's clients: C keep-alive connections going round the URLs, and the report of
what they measured (req/s, p50/p95/p99 per URL and overall, errors by kind).

The C clients are driven by one thread over non-blocking sockets (one request in flight per
connection, the next sent as soon as the answer is complete), not by C Python threads: 50
threads contending for one interpreter lock wait for it after their answer arrived, and that
wait, not the server, was most of the measured tail on a 2-core machine. An answer's head is
parsed once and its body only counted (Content-Length, or chunked up to its last chunk), so
a request costs the client about 0.1 ms of CPU whatever the size of the answer; its time
runs from the request's send to its last byte.

Nothing is left out of the figures: an answer other than 200, a connection closed or refused,
a request unanswered after ``TIMEOUT`` seconds, and one still unanswered when the run ends
(after waiting up to ``TIMEOUT`` for it) each count as an error of its kind, with the time it
took (or had taken when given up).
"""

from __future__ import annotations

import http.client
import math
import os
import selectors
import socket
import threading
import time
from collections import Counter

from benchdb import FILTERS, URLS

TIMEOUT = 30.0  # seconds without the whole answer: an error, and the connection is replaced
# The statuses of answers that never came (any other status is the server's).
CLOSED, TIMED_OUT, UNFINISHED = 0, -1, -2
_KINDS = {
    CLOSED: "connection closed or refused",
    TIMED_OUT: "no answer in time",
    UNFINISHED: "unanswered at the end",
}


def urls() -> list[str]:
    return [full for url in URLS for full in (url, url + ("&" if "?" in url else "?") + FILTERS)]


class _Connection:
    """One keep-alive connection going round the requests, at most one of them in flight."""

    def __init__(self, port: int, requests: list[tuple[str, bytes]], offset: int) -> None:
        self.port, self.requests, self.turn = port, requests, offset
        self.sock: socket.socket | None = None
        self.url, self.started = "", 0.0
        self._answer_reset()

    def _answer_reset(self) -> None:
        """Forget the answer read so far (none in flight)."""
        self.head, self.status, self.remaining, self.chunked, self.tail, self.closing = (
            b"",
            0,
            -1,
            False,
            b"",
            False,
        )

    def send_next(self, selector: selectors.BaseSelector) -> None:
        """Send the next request (opening the connection first if needed); OSError if it cannot."""
        self.url, request = self.requests[self.turn % len(self.requests)]
        self.turn += 1
        self._answer_reset()
        self.started = time.perf_counter()
        if self.sock is None:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, self)
            self.sock = sock
        self.sock.sendall(request)

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            selector.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def received(self, data: bytes) -> bool:
        """Take ``data``; True once the whole answer is in (its status in ``status``)."""
        if self.remaining < 0 and not self.chunked:  # still reading the head
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return False
            lines = self.head[:end].decode("latin-1").split("\r\n")
            data = self.head[end + 4 :]
            self.status = int(lines[0].split()[1])
            headers = {
                k.strip().lower(): v.strip().lower()
                for k, _, v in (line.partition(":") for line in lines[1:])
            }
            self.closing = headers.get("connection") == "close"
            self.chunked = headers.get("transfer-encoding") == "chunked"
            self.remaining = -1 if self.chunked else int(headers.get("content-length", 0))
        if self.chunked:
            self.tail = (self.tail + data)[-5:]
            return self.tail == b"0\r\n\r\n"
        self.remaining -= len(data)
        return self.remaining <= 0


class Clients:
    """C keep-alive connections going round the URLs, driven by one thread."""

    def __init__(self, *, count: int, port: int, cookie: str) -> None:
        self.port, self.cookie, self.urls = port, cookie, urls()
        self.count = count
        self.samples: list[tuple[str, float, float, int]] = []  # url, started, seconds, status
        self.cpu_seconds = 0.0  # the client thread's own CPU time
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _request(self, url: str) -> bytes:
        return f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self.cookie}\r\n\r\n".encode()

    def _record(self, connection: _Connection, status: int) -> None:
        ended = time.perf_counter()
        self.samples.append((connection.url, connection.started, ended - connection.started, status))

    def _send(self, selector, connection: _Connection, retry: list[_Connection]) -> None:
        try:
            connection.send_next(selector)
        except OSError:  # refused or broken: an error; tried again after a short pause
            self._fail(selector, connection, CLOSED, retry)

    def _fail(self, selector, connection: _Connection, status: int, retry: list[_Connection]) -> None:
        self._record(connection, status)
        connection.close(selector)
        retry.append(connection)

    def _run(self) -> None:
        requests = [(url, self._request(url)) for url in self.urls]
        selector = selectors.DefaultSelector()
        cpu = time.thread_time()
        connections = [_Connection(self.port, requests, offset) for offset in range(self.count)]
        retry: list[_Connection] = []
        for connection in connections:
            self._send(selector, connection, retry)
        checked = time.perf_counter()
        given_up = None  # when stopping: the time after which unanswered requests are errors
        while True:
            now = time.perf_counter()
            if self.stop.is_set():  # no new requests; wait for the ones in flight
                given_up = given_up or now + TIMEOUT
                in_flight = [c for c in connections if c.sock is not None]
                if not in_flight or now > given_up:
                    for connection in in_flight:
                        self._record(connection, UNFINISHED)
                        connection.close(selector)
                    break
            elif retry:
                waiting, retry = retry, []
                for connection in waiting:
                    self._send(selector, connection, retry)
            for key, _ in selector.select(0.05 if retry else 0.2):
                connection = key.data
                try:
                    data = connection.sock.recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the server before the answer was complete
                    self._fail(selector, connection, CLOSED, retry)
                elif connection.received(data):
                    self._record(connection, connection.status)
                    if connection.closing or self.stop.is_set():
                        connection.close(selector)
                    if not self.stop.is_set():
                        self._send(selector, connection, retry)
            if now > checked + 1:  # once a second: requests waiting too long
                checked = now
                for connection in connections:
                    if connection.sock is not None and now - connection.started > TIMEOUT:
                        self._fail(selector, connection, TIMED_OUT, retry)
        self.cpu_seconds = time.thread_time() - cpu
        selector.close()

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()


def warm_up(port: int, cookie: str) -> None:
    """Each URL once (the first answer after the data changed is built; print its time)."""
    print("\nfirst request of each URL (the answer is built, then cached):")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for url in urls():
        started = time.perf_counter()
        connection.request("GET", url, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        print(f"  {url:<92} {(time.perf_counter() - started) * 1000:>7.1f} ms  {response.status}")
    connection.close()


def _percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile, in ms: the smallest time that ``share`` of the times do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)] * 1000


def errors_described(samples: list) -> str:
    """``"none"``, or how many errors of each kind (``HTTP 500``, ``connection closed or refused``...)."""
    kinds = Counter(_KINDS.get(s[3], f"HTTP {s[3]}") for s in samples if s[3] != 200)
    return ", ".join(f"{count} {kind}" for kind, count in kinds.most_common()) or "none"


def report(title: str, samples: list, seconds: float) -> dict:
    """Print req/s, p50/p95/p99 (ms) and errors per URL and overall, and the errors by kind;
    return the overall line. Every request counts, errors too (with the time they took)."""
    print(f"\n{title}: {len(samples):,} requests in {seconds:.1f}s, load average {os.getloadavg()[0]:.1f}")
    print(f"{'URL':<92} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'errors':>6}")
    rows = {url: [s for s in samples if s[0] == url] for url in urls()}
    rows["ALL"] = samples
    overall = {}
    for url, group in rows.items():
        if not group:
            continue
        times = [s[2] for s in group]
        line = {
            "req_s": len(group) / seconds,
            "p50": _percentile(times, 0.50),
            "p95": _percentile(times, 0.95),
            "p99": _percentile(times, 0.99),
            "errors": sum(1 for s in group if s[3] != 200),
        }
        print(
            f"{url:<92} {line['req_s']:>7.1f} {line['p50']:>7.1f} {line['p95']:>7.1f}"
            f" {line['p99']:>7.1f} {line['errors']:>6}"
        )
        overall = line
    print(f"errors: {errors_described(samples)}")
    return overall
