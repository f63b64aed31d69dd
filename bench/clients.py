"""The benchmark's clients: threads with keep-alive connections going round the URLs, and
the report of what they measured (req/s, p50/p95/p99 per URL and overall, errors)."""

from __future__ import annotations

import http.client
import os
import threading
import time

from benchdb import FILTERS, URLS


def urls() -> list[str]:
    return [full for url in URLS for full in (url, url + ("&" if "?" in url else "?") + FILTERS)]


class Clients:
    """C threads, each over its own keep-alive connection, going round the URLs."""

    def __init__(self, *, count: int, port: int, cookie: str) -> None:
        self.port, self.cookie, self.urls = port, cookie, urls()
        self.samples: list[tuple[str, float, float, int]] = []  # url, started, seconds, status
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]

    def _run(self, offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie}
        turn = offset
        while not self.stop.is_set():
            url = self.urls[turn % len(self.urls)]
            turn += 1
            started = time.perf_counter()
            try:
                connection.request("GET", url, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.samples.append((url, started, time.perf_counter() - started, status))
        connection.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


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
