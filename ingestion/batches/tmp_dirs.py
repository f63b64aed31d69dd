"""A run's temporary folder: where the bulk writer puts the files it hands to ``LOAD DATA``.

One folder per database under ``LOAD_TMP_DIR``, named after its server and name (a sweep only
judges runs of batches it can see: two servers holding a database of the same name must not
sweep each other's folders), one subfolder per run (``batch-<id>-<owner>``), removed when the
run ends. A run that was killed cannot remove its own: the next run's sweep does.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils.text import slugify

from warehouse.models import LoadBatch


def _tmp_dirs_sweep(root: Path) -> None:
    """Remove the temporary folders of runs that no longer hold their batch (killed ones)."""
    for folder in root.glob("batch-*"):
        _, batch_id, owner = [*folder.name.split("-", 2), "", ""][:3]
        live = LoadBatch.objects.filter(
            pk=int(batch_id) if batch_id.isdigit() else 0,
            status=LoadBatch.Status.RUNNING,
            lease_owner__endswith=owner,
        ).exists()
        if not live:
            shutil.rmtree(folder, ignore_errors=True)


def database_tmp_root() -> Path:
    """This database's folder of run folders: ``<host>-<port>-<name>`` on a server, the file's
    name on SQLite (its path is what tells two files apart)."""
    db = connection.settings_dict
    name = str(db["NAME"])
    if connection.vendor == "sqlite":
        label = f"{Path(name).name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    else:
        label = f"{db.get('HOST') or 'localhost'}-{db.get('PORT') or 'default'}-{name}"
    return Path(settings.LOAD_TMP_DIR) / (slugify(label)[:80] or "default")


@contextmanager
def batch_tmp_dir(*, batch_id: int, owner: str) -> Iterator[Path]:
    """The run's own folder, created after sweeping the folders of dead runs; removed at the end."""
    root = database_tmp_root()
    root.mkdir(parents=True, exist_ok=True)
    _tmp_dirs_sweep(root)
    tmp_dir = root / f"batch-{batch_id}-{owner.rsplit(':', 1)[-1]}"
    tmp_dir.mkdir()
    try:
        yield tmp_dir
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
