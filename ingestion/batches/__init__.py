"""Batches: created, sent to the workers, run under a lease, kept and notified."""
