"""The readers of each file format, in chunks of text columns."""
