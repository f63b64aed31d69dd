"""The dashboard's cold load in Chromium against a running server (`make demo`).

    .venv/bin/python bench/cold_load.py --password PW [--url http://127.0.0.1:8000] [--runs 5]

Logs in once through the admin's login page, then opens the dashboard ``--runs`` times, each in
a new browser context (an empty cache) with the cache disabled through the DevTools protocol,
and prints per run the navigation timing (HTML received, DOMContentLoaded, the load event)
and the moment every chart is drawn (the page's ``data-charts-drawn``), the renderer's
main-thread CPU time (DevTools' ``ThreadTime``: what the page costs, whatever else the machine
runs), their medians, how
each script arrived (its name, bytes on the wire and decoded, ``Content-Encoding``,
``Cache-Control``) and the load average beside the figures. Chromium at /usr/bin/chromium
(``CHROMIUM``), headless, as the browser tests run it.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import CHROMIUM, CHROMIUM_ARGS

TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          charts: Number(document.documentElement.dataset.chartsDrawn)};
}"""
SCRIPTS = """() => performance.getEntriesByType('resource').filter(r => r.initiatorType === 'script')
  .map(r => [r.name.split('/').pop(), r.transferSize, r.decodedBodySize])"""


def _script_headers(answer, seen: dict[str, str]) -> None:
    if answer.url.endswith(".js"):
        encoding = answer.headers.get("content-encoding", "no encoding")
        caching = answer.headers.get("cache-control", "no cache-control")
        seen[answer.url.split("/")[-1]] = f"{encoding}, {caching}"


def cold_loads(url: str, username: str, password: str, runs: int) -> tuple[list[dict], list[str]]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        login = browser.new_context()
        page = login.new_page()
        page.goto(f"{url}/admin/login/?next=/visualization/dashboard/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url("**/visualization/dashboard/")
        state = login.storage_state()
        login.close()
        timings, scripts = [], []
        for _ in range(runs):
            context = browser.new_context(storage_state=state, viewport={"width": 1366, "height": 900})
            page = context.new_page()
            devtools = context.new_cdp_session(page)
            devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
            devtools.send("Performance.enable")
            headers: dict[str, str] = {}
            page.on("response", functools.partial(_script_headers, seen=headers))
            page.goto(f"{url}/visualization/dashboard/")
            page.wait_for_function("() => document.documentElement.dataset.chartsDrawn !== undefined")
            page.wait_for_function("() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
            metrics = {m["name"]: m["value"] for m in devtools.send("Performance.getMetrics")["metrics"]}
            timings.append({**page.evaluate(TIMING), "main-thread CPU": metrics["ThreadTime"] * 1000})
            scripts = [
                f"{name}: {wire:,} B on the wire, {body:,} B decoded, {headers.get(name, '?')}"
                for name, wire, body in page.evaluate(SCRIPTS)
            ]
            context.close()
        browser.close()
    return timings, scripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    timings, scripts = cold_loads(args.url.rstrip("/"), args.username, args.password, args.runs)
    after = os.getloadavg()[0]
    print(f"cold load of {args.url}/visualization/dashboard/, {args.runs} runs (ms from navigation start):")
    for run in timings:
        print("  " + ", ".join(f"{key} {value:.0f}" for key, value in run.items()))
    medians = {key: statistics.median(run[key] for run in timings) for key in timings[0]}
    print("median: " + ", ".join(f"{key} {value:.0f}" for key, value in medians.items()))
    print(f"load average (1 min) {before:.2f} before, {after:.2f} after")
    print("scripts:\n  " + "\n  ".join(scripts))


if __name__ == "__main__":
    main()
