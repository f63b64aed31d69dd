"""Celery: the broker (with it tasks go to workers; without one they run eagerly in-process),
time limits, redelivery, batch leases, the sweeper, the scan of ``INPUT_DIR`` and broker faults."""

from pathlib import Path

from config.settings.base import BASE_DIR, TIME_ZONE, env

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default=""))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Eager mode still writes task state to the result backend: keep it in memory then.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or "cache+memory://")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3 * 3600 + 600)
CELERY_TIMEZONE = TIME_ZONE

# Redelivery of a message whose worker died: above the hard time limit, or a long load
# would be delivered twice; lower it (tests do) to recover faster from a killed worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TRACK_STARTED = True
# Queueing with the broker down fails within seconds (the batch is marked failed), not 20 s.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_TRANSPORT_OPTIONS.update({"socket_connect_timeout": 1.5, "socket_timeout": 5})

# --- Batch leases, the sweeper and the scan -------------------------------------
# A running batch renews its lease every BATCH_LEASE_SECONDS / 4; the sweeper queues again
# a batch whose lease expired (worker killed, machine lost), or fails it after
# BATCH_MAX_ATTEMPTS lost workers.
BATCH_LEASE_SECONDS = env.int("BATCH_LEASE_SECONDS", default=60)
BATCH_MAX_ATTEMPTS = env.int("BATCH_MAX_ATTEMPTS", default=3)
BATCH_SWEEP_SECONDS = env.int("BATCH_SWEEP_SECONDS", default=60)
# How long aggregate rebuilds wait for a load that is writing the warehouse.
FACTS_LOCK_WAIT_SECONDS = env.int("FACTS_LOCK_WAIT_SECONDS", default=60)
# One temporary folder per running batch (bulk-load files), removed on every exit path.
LOAD_TMP_DIR = Path(env("LOAD_TMP_DIR", default=str(BASE_DIR / "var" / "tmp")))
# Celery beat: look for new files in INPUT_DIR (checksums make a re-scan harmless).
INPUT_SCAN_MINUTES = env.int("INPUT_SCAN_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = {
    "batch-sweep": {"task": "ingestion.tasks.batch_sweep", "schedule": BATCH_SWEEP_SECONDS},
    **(
        {"scan-input-dir": {"task": "ingestion.tasks.scan_input_dir", "schedule": INPUT_SCAN_MINUTES * 60}}
        if INPUT_SCAN_MINUTES > 0
        else {}
    ),
}

# --- Faults: broker and database outages (docs/faults.md) ----------------------
# The batch's lease, not the broker connection, decides who runs a batch: a dropped or
# restarted broker leaves the running load alone (its redelivered message finds the live
# lease and does nothing), instead of terminating it to start again from the first row.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# kombu's Redis transport with the two steps that kill a prefork worker when the broker
# restarts under a running task made to give up with a warning (config/broker.py).
if CELERY_BROKER_URL.startswith("redis://"):  # rediss: kombu's own (TLS set from the scheme)
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
# How long a run keeps trying, on new connections, to record its outcome when the database
# went away; past that the batch is left to the sweeper (or the next in-process load_invoices).
BATCH_OUTCOME_RETRY_SECONDS = env.int("BATCH_OUTCOME_RETRY_SECONDS", default=60)
