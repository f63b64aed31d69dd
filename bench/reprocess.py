"""Re-processing benchmark: rejected rows re-processed through the queue, beside the load.

    .venv/bin/python bench/reprocess.py [--reprocess 100000] [--database-url URL]
        [--broker-url redis://127.0.0.1:6379/0] [--runs 3]

Generates a messy file (cached under bench/.cache/) whose rows of five customers name ids
the warehouse lacks, enough for ``--reprocess`` rows to be rejected as UNKNOWN_CUSTOMER.
Each run, in a fresh process on an empty database: loads the file (``invoice_file_ingest``,
the load's rows/s), adds the five customers, POSTs the first ``--reprocess`` of those rows'
ids to ``/api/rejected/reprocess/`` with a broker configured (the request's seconds: it
queues a batch and answers 202), then runs that batch as a worker does and times it. Before
that it times the admin's *Re-process selected rows* over all those rows (select all; the
batch it queues is cancelled). Queued messages are removed from the broker. Then, in another
fresh process on an empty database, the same file and customers, it loads a file of the very
rows re-processed (their text as staged) into that warehouse: the load's rows/s for the rows
the re-processing writes (the file above rejects about half its rows, which cost a load
little). The last line is the summary (medians over the runs): the re-processing's rows/s
next to both loads'.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from ingest import CACHE, DEFAULT_URL, ROOT, _env, database_reset, input_file

# Customers whose rows become unknown: about 5/11 of the file's rows.
RENAMED = {f"C-10{n}": f"C-90{n}" for n in range(5)}

_SETUP = r"""
import json, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from config.celery import app
from ingestion.batches.dispatch import batch_cancel
from ingestion.batches.services import batch_create, invoice_file_ingest
from warehouse.models import Customer, LoadBatch, RejectedInvoice
from warehouse.selectors.batches import batch_present
from bench.cpu import database_cpu
def cpu_now():  # CPU seconds so far: this process (every thread), the local database server
    return time.process_time(), database_cpu() or 0.0
started = time.perf_counter()
loaded = invoice_file_ingest(batch_id=batch_create(path=PATH).pk)
load_seconds = time.perf_counter() - started
for customer_id in NEW_IDS:
    Customer.objects.create(customer_id=customer_id, customer_name="Bench " + customer_id)
unknown = RejectedInvoice.objects.filter(reason="UNKNOWN_CUSTOMER").order_by("pk")
ids = list(unknown.values_list("pk", flat=True)[:REPROCESS])
"""
_ONE_RUN = (
    _SETUP
    + r"""
admin_rows = unknown.count()
client = Client()
client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "x"))
# A warm process, as a server's is: the first request pays for imports and URL resolving.
client.post("/api/rejected/reprocess/", "{}", content_type="application/json", HTTP_HOST="localhost")
client.get("/admin/warehouse/rejectedinvoice/", HTTP_HOST="localhost")
# The admin's action over every row of a filter ("select all"), queued with a broker.
started = time.perf_counter()
admin = client.post(
    "/admin/warehouse/rejectedinvoice/?reason=UNKNOWN_CUSTOMER",
    {"action": "reprocess_rows", "select_across": "1", "_selected_action": [ids[0]]},
    HTTP_HOST="localhost",
)
admin_seconds = time.perf_counter() - started
assert admin.status_code == 302, admin.content[:500]
for queued in LoadBatch.objects.filter(status="queued"):  # measured the request only
    batch_cancel(batch=queued)
app.control.purge()
started = time.perf_counter()
body = json.dumps({"ids": ids})
answer = client.post("/api/rejected/reprocess/", body, content_type="application/json", HTTP_HOST="localhost")
request_seconds = time.perf_counter() - started
assert answer.status_code == 202, answer.content[:500]
app.control.purge()  # the queued message: this process runs the batch itself
[queued] = answer.json()["batches"]
started, cpu = time.perf_counter(), cpu_now()
batch = invoice_file_ingest(batch_id=queued["id"])
run_seconds = time.perf_counter() - started
run_cpu = [b - a for a, b in zip(cpu, cpu_now())]
presented = batch_present(batch)
print(json.dumps({
    **{key: presented[key] for key in ("status", "error", "rows_read", "rows_loaded", "rows_rejected")},
    "load_status": loaded.status, "admin_rows": admin_rows,
    "load_rows": loaded.rows_read, "load_seconds": load_seconds,
    "request_seconds": request_seconds, "admin_seconds": admin_seconds, "run_seconds": run_seconds,
    "run_cpu": run_cpu,
    "stages": batch.stage_seconds,
}))
"""
)
# The rows re-processed above, as a file of their own (their text as the load staged it),
# loaded into the warehouse as it stood before the re-processing.
_SAME_ROWS = (
    _SETUP
    + r"""
import csv
from ingestion.pipeline.columns import RAW_COLUMNS
from warehouse.models import StagingInvoice
rows = RejectedInvoice.objects.filter(pk__in=ids).values_list("source_row", flat=True)
staged = StagingInvoice.objects.filter(batch_id=loaded.pk, source_row__in=list(rows)).order_by("source_row")
same = PATH.replace(".csv", "-same-rows.csv")
with open(same, "w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(RAW_COLUMNS)
    writer.writerows(staged.values_list(*RAW_COLUMNS))
started, cpu = time.perf_counter(), cpu_now()
batch = invoice_file_ingest(batch_id=batch_create(path=same).pk)
seconds = time.perf_counter() - started
print(json.dumps({
    "status": batch.status, "rows": batch.rows_read, "seconds": seconds,
    "cpu": [b - a for a, b in zip(cpu, cpu_now())],
}))
"""
)


def renamed_file(rows: int) -> Path:
    """The generated file with the rows of five customers renamed to unknown ids."""
    path = CACHE / f"invoices-{rows}-unknown-customers.csv"
    if not path.exists():
        text = input_file(rows).read_text(encoding="utf-8")
        for old, new in RENAMED.items():
            text = text.replace(f",{old},", f",{new},")
        path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reprocess", type=int, default=100_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()

    rows = int(args.reprocess * 11 / 5 * 1.15)  # some of those rows fail an earlier rule
    path = renamed_file(rows)
    env = {**_env(args.database_url), "CELERY_BROKER_URL": args.broker_url}
    script = (
        _ONE_RUN.replace("PATH", repr(str(path)))
        .replace("NEW_IDS", repr(sorted(RENAMED.values())))
        .replace("REPROCESS", str(args.reprocess))
    )
    same_rows = (
        _SAME_ROWS.replace("PATH", repr(str(path)))
        .replace("NEW_IDS", repr(sorted(RENAMED.values())))
        .replace("REPROCESS", str(args.reprocess))
    )

    def run_script(code: str, run: int) -> dict:
        database_reset(args.database_url)
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"run {run} crashed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    results = []
    for run in range(1, args.runs + 1):
        result = run_script(script, run)
        if result["status"] != "succeeded" or result["load_status"] != "succeeded":
            sys.exit(f"run {run}: {result}")
        same = run_script(same_rows, run)
        if same["status"] != "succeeded" or same["rows"] != result["rows_read"]:
            sys.exit(f"run {run}, the same rows as a file: {same}")
        result["load_rate"] = result["load_rows"] / result["load_seconds"]
        result["same_rows_load_rate"] = same["rows"] / same["seconds"]
        result["rate"] = result["rows_read"] / result["run_seconds"]
        result["cpu_seconds"], result["same_rows_cpu_seconds"] = sum(result["run_cpu"]), sum(same["cpu"])
        results.append(result)
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in result["stages"].items())
        print(
            f"run {run}: load {result['load_rows']:,} rows in {result['load_seconds']:.2f}s"
            f" ({result['load_rate']:,.0f} rows/s); re-processing {result['rows_read']:,} rows:"
            f" API request {result['request_seconds']:.3f}s (202), admin action over all"
            f" {result['admin_rows']:,} unknown rows {result['admin_seconds']:.3f}s,"
            f" batch {result['run_seconds']:.2f}s"
            f" ({result['rate']:,.0f} rows/s; loaded {result['rows_loaded']:,},"
            f" still rejected {result['rows_rejected']:,}; {stages});"
            f" the same rows loaded as a file {result['rows_read'] / result['same_rows_load_rate']:.2f}s"
            f" ({result['same_rows_load_rate']:,.0f} rows/s); CPU seconds (worker process + database server):"
            f" re-processing {result['run_cpu'][0]:.2f} + {result['run_cpu'][1]:.2f},"
            f" the same rows loaded {same['cpu'][0]:.2f} + {same['cpu'][1]:.2f}"
        )
    load_rate = statistics.median(r["load_rate"] for r in results)
    rate = statistics.median(r["rate"] for r in results)
    same_rate = statistics.median(r["same_rows_load_rate"] for r in results)
    print(
        f"SUMMARY reprocess_rows={results[0]['rows_read']:,} runs={len(results)}"
        f" api_request_seconds={statistics.median(r['request_seconds'] for r in results):.3f}"
        f" admin_request_seconds={statistics.median(r['admin_seconds'] for r in results):.3f}"
        f" reprocess_rows_per_s={rate:,.0f} load_rows_per_s={load_rate:,.0f}"
        f" ratio={rate / load_rate:.2f} same_rows_load_rows_per_s={same_rate:,.0f}"
        f" ratio_to_same_rows={rate / same_rate:.2f}"
        f" cpu_seconds={statistics.median(r['cpu_seconds'] for r in results):.2f}"
        f" same_rows_cpu_seconds={statistics.median(r['same_rows_cpu_seconds'] for r in results):.2f}"
        f" database={urlparse(args.database_url).scheme}"
    )
    from figures import figures_write, medians_table, records_table

    keys = (
        "load_rate",
        "same_rows_load_rate",
        "request_seconds",
        "admin_seconds",
        "run_seconds",
        "rate",
        "cpu_seconds",
        "same_rows_cpu_seconds",
    )

    def ratios(rate: float, load: float, same: float) -> dict:
        return {"ratio": rate / load, "ratio to same rows": rate / same}

    runs = {
        f"run {n}": {k: r[k] for k in keys} | ratios(r["rate"], r["load_rate"], r["same_rows_load_rate"])
        for n, r in enumerate(results, 1)
    }
    runs["median"] = {k: statistics.median(r[k] for r in results) for k in keys} | ratios(
        rate, load_rate, same_rate
    )
    note = (
        "rates in rows/s; load rate: the file's load; same rows load rate: a load of the re-processed"
        " rows as a file into the same warehouse; request: the API's POST (202); admin: its select-all"
        " action; run: the batch; ratio: the batch's rate to the file's load's; ratio to same rows:"
        " to the load of the same rows; cpu seconds: the batch's, of its process (every thread) and of the"
        " database server, same rows cpu seconds: the same for the load of the same rows (two cores give"
        " at most two CPU seconds a second)"
    )
    stages = medians_table(["stage of the re-processing batch", "median s"], [r["stages"] for r in results])
    figures_write("performance.md", "reprocess", records_table(runs), note, stages)


if __name__ == "__main__":
    main()
