"""The checks every file the product opens goes through first: the admin upload, the API
upload, a load (``ingestion``) and the admin's imports of customers, items and statuses.

``parts_check`` reads a ZIP archive's directory (XLSX, ODS) and refuses a part that would
inflate past ``part_bytes`` or more than ``part_ratio`` times its packed size, before
anything is inflated; ``file_check`` adds the size limit of an upload. One implementation,
below both apps (``warehouse`` must not import ``ingestion``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from django.template.defaultfilters import filesizeformat

FILE_TOO_LARGE = "{name}: {size} is over the limit of {limit}"
FILE_PART_TOO_LARGE = "workbook part {part} inflates to {size}, over the limit of {limit}"
FILE_PART_RATIO = "workbook part {part} inflates {ratio:,} times (limit {limit:,}): not a real workbook"
_INFLATED_FREELY = 1024 * 1024  # parts this small may inflate at any ratio


class FileRejected(Exception):
    """The file as a whole cannot be loaded; the message says why, in the user's terms."""


class PartLimits(Protocol):
    @property
    def part_bytes(self) -> int: ...

    @property
    def part_ratio(self) -> int: ...


@dataclass(frozen=True)
class ArchiveLimits:
    part_bytes: int
    part_ratio: int

    @classmethod
    def from_settings(cls) -> ArchiveLimits:
        from django.conf import settings

        return cls(part_bytes=settings.INGEST_MAX_XLSX_PART_BYTES, part_ratio=settings.INGEST_MAX_XLSX_RATIO)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MiB"


def parts_check(source: Path | IO[bytes], limits: PartLimits) -> None:
    """Refuse an archive whose parts would inflate past the limits; anything that is not a
    ZIP archive passes (its reader says what is wrong with it)."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    for member in members:
        if member.file_size > limits.part_bytes:
            raise FileRejected(
                FILE_PART_TOO_LARGE.format(
                    part=member.filename, size=_size(member.file_size), limit=_size(limits.part_bytes)
                )
            )
        ratio = member.file_size // max(member.compress_size, 1)
        if member.file_size > _INFLATED_FREELY and ratio > limits.part_ratio:
            raise FileRejected(
                FILE_PART_RATIO.format(part=member.filename, ratio=ratio, limit=limits.part_ratio)
            )


def file_check(uploaded, *, max_bytes: int, limits: PartLimits) -> None:
    """An uploaded file (Django's ``UploadedFile``): its size, then its parts."""
    if uploaded.size > max_bytes:
        raise FileRejected(
            FILE_TOO_LARGE.format(
                name=uploaded.name, size=filesizeformat(uploaded.size), limit=filesizeformat(max_bytes)
            )
        )
    try:
        parts_check(uploaded.file, limits)
    except FileRejected as exc:
        raise FileRejected(f"{uploaded.name}: {exc}") from None
