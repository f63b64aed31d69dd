"""Rejected rows: re-processing, the unknown references they name, streamed exports."""
