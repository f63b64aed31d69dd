"""The benchmark's clients: C keep-alive connections going round the URLs, and the report of
what they measured (req/s, p50/p95/p99 per URL and overall, errors).

The C clients are driven by one thread over non-blocking sockets (one request in flight per
connection, the next sent as soon as the answer is complete), not by C Python threads: 50
threads contending for one interpreter lock wait for it after their answer arrived, and that
wait, not the server, was most of the measured tail on a 2-core machine. Each answer is read
whole (Content-Length or chunked); its time runs from the request's send to its last byte.
"""

from __future__ import annotations

import http.client
import os
import selectors
import socket
import threading
import time

from benchdb import FILTERS, URLS


def urls() -> list[str]:
    return [full for url in URLS for full in (url, url + ("&" if "?" in url else "?") + FILTERS)]


class _Connection:
    def __init__(self, port: int, requests: list[tuple[str, bytes]], offset: int) -> None:
        self.port, self.requests, self.turn = port, requests, offset
        self.sock: socket.socket  # by open()
        self.buffer, self.url, self.started = b"", "", 0.0

    def open(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)

    def send_next(self) -> None:
        self.url, request = self.requests[self.turn % len(self.requests)]
        self.turn += 1
        self.buffer, self.started = b"", time.perf_counter()
        self.sock.sendall(request)

    def answer(self) -> int | None:
        """The status once the whole answer is in the buffer, else None."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        body = self.buffer[head_end + 4 :]
        if "content-length" in headers:
            if len(body) < int(headers["content-length"]):
                return None
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            if not body.endswith(b"0\r\n\r\n"):
                return None
        return int(head[0].split()[1])


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

    def _run(self) -> None:
        requests = [(url, self._request(url)) for url in self.urls]
        selector = selectors.DefaultSelector()
        cpu = time.thread_time()
        for offset in range(self.count):
            connection = _Connection(self.port, requests, offset)
            connection.open()
            selector.register(connection.sock, selectors.EVENT_READ, connection)
            connection.send_next()
        while not self.stop.is_set():
            for key, _ in selector.select(0.2):
                connection = key.data
                try:
                    data = connection.sock.recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                ended = time.perf_counter()
                if data:
                    connection.buffer += data
                    status = connection.answer()
                    if status is None:
                        continue
                else:  # closed by the server: an error, then a new connection
                    status = 0
                    selector.unregister(connection.sock)
                    connection.sock.close()
                    connection.open()
                    selector.register(connection.sock, selectors.EVENT_READ, connection)
                self.samples.append((connection.url, connection.started, ended - connection.started, status))
                connection.send_next()
        self.cpu_seconds = time.thread_time() - cpu
        for key in list(selector.get_map().values()):
            key.data.sock.close()
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
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def report(title: str, samples: list, seconds: float) -> dict:
    """Print req/s, p50/p95/p99 (ms) and errors per URL and overall; return the overall line."""
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
    return overall
