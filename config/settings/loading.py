"""The load: where files come from, how they are read, uploaded and exported."""

from pathlib import Path

from config.settings.base import BASE_DIR, env

# --- The load -----------------------------------------------------------------
INPUT_DIR = Path(env("INPUT_DIR", default=str(BASE_DIR / "data")))
ALLOW_MISSING_INVOICE_ID = env.bool("ALLOW_MISSING_INVOICE_ID", default=False)
# "DMY": 03/04/2023 is 3 April (the exports' convention); "MDY": 4 March.
INVOICE_DATE_ORDER = env("INVOICE_DATE_ORDER", default="DMY")
INGEST_CHUNK_ROWS = env.int("INGEST_CHUNK_ROWS", default=50_000)
# What one file may hold, checked while it is read (see docs/loading.md, "What a load does").
INGEST_MAX_FIELD_BYTES = env.int("INGEST_MAX_FIELD_BYTES", default=1024 * 1024)
INGEST_MAX_LINE_BYTES = env.int("INGEST_MAX_LINE_BYTES", default=10 * 1024 * 1024)
INGEST_MAX_CHUNK_BYTES = env.int("INGEST_MAX_CHUNK_BYTES", default=128 * 1024 * 1024)
INGEST_MAX_XLSX_PART_BYTES = env.int("INGEST_MAX_XLSX_PART_BYTES", default=512 * 1024 * 1024)
INGEST_MAX_XLSX_RATIO = env.int("INGEST_MAX_XLSX_RATIO", default=100)

# --- Admin uploads and Celery worker ------------------------------------------
# Uploaded files are kept under MEDIA_ROOT/ADMIN_UPLOAD_SUBDIR: every worker must see them.
ADMIN_UPLOAD_SUBDIR = env("ADMIN_UPLOAD_SUBDIR", default="uploads")
ADMIN_UPLOAD_MAX_BYTES = env.int("ADMIN_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
ADMIN_UPLOAD_MAX_FILES = env.int("ADMIN_UPLOAD_MAX_FILES", default=20)
# XLSX exports are built in memory: above this many rows the admin asks for CSV (which streams).
EXPORT_XLSX_MAX_ROWS = env.int("EXPORT_XLSX_MAX_ROWS", default=100_000)
# Rows one POST /api/rejected/reprocess/ may queue for re-processing.
API_REPROCESS_MAX_ROWS = env.int("API_REPROCESS_MAX_ROWS", default=100_000)
