"""The admin's imports (customers, items, statuses): guarded like an upload, and leaving no
temporary file behind.

django-import-export reads a whole file into memory; before it does, the file goes through
``warehouse.file_guard`` with the upload's limits (``ADMIN_UPLOAD_MAX_BYTES``, the workbook
part limits), so a ZIP bomb is refused from its directory, without being inflated. A user
who may not import is refused before the body is read. The previewed file waits for the
confirmation in ``LOAD_TMP_DIR/imports``: a preview that fails, a confirmed import (done or
failed) remove it; a preview never confirmed is removed ``PREVIEW_KEPT_SECONDS`` later,
when the next import writes its file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import path
from import_export.forms import ImportForm
from import_export.tmp_storages import TempFolderStorage

from warehouse.admin_permissions import permission_before_body
from warehouse.file_guard import ArchiveLimits, FileRejected, file_check

PREVIEW_KEPT_SECONDS = 3600

if TYPE_CHECKING:  # what the mixin is mixed into
    from import_export.admin import ImportMixin as _ImportAdminBase
else:
    _ImportAdminBase = object


def import_tmp_dir() -> Path:
    return Path(settings.LOAD_TMP_DIR) / "imports"


def previews_prune(folder: Path, *, older_than: float = PREVIEW_KEPT_SECONDS) -> None:
    """Remove previewed files nobody confirmed within ``older_than`` seconds."""
    limit = time.time() - older_than
    for stale in folder.glob("import-*"):
        if stale.stat().st_mtime < limit:
            stale.unlink(missing_ok=True)


class ImportTempStorage(TempFolderStorage):
    """django-import-export's temporary file, in the project's own folder."""

    name: str | None  # the file's name in the folder, set by the base class or by ``_open``

    def get_full_path(self):
        return str(import_tmp_dir() / os.path.basename(self.name or ""))

    def _open(self, mode="r"):
        if self.name:
            return open(self.get_full_path(), mode, encoding=self.encoding)
        folder = import_tmp_dir()
        folder.mkdir(parents=True, exist_ok=True)
        previews_prune(folder)
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix="import-", delete=False)  # noqa: SIM115
        self.name = os.path.basename(handle.name)
        return handle

    def remove(self):
        if self.name:
            # The name came back from a browser: a malformed one names no file of ours.
            with contextlib.suppress(OSError, ValueError):
                Path(self.get_full_path()).unlink(missing_ok=True)


class GuardedImportForm(ImportForm):
    def clean_import_file(self):
        uploaded = self.cleaned_data["import_file"]
        try:
            file_check(
                uploaded, max_bytes=settings.ADMIN_UPLOAD_MAX_BYTES, limits=ArchiveLimits.from_settings()
            )
        except FileRejected as exc:
            raise ValidationError(str(exc)) from None
        return uploaded


class GuardedImportMixin(_ImportAdminBase):
    """For an ``ImportMixin`` admin: the guard, the permission first, the temporary file's end."""

    import_form_class = GuardedImportForm
    tmp_storage_class = ImportTempStorage

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        guarded = permission_before_body(self.has_import_permission)(self.import_action)
        imports = path("import/", self.admin_site.admin_view(guarded), name=name)
        return [imports, *(url for url in super().get_urls() if getattr(url, "name", None) != name)]

    def import_action(self, request, **kwargs):
        previewed = False
        try:
            response = super().import_action(request, **kwargs)
            previewed = bool((getattr(response, "context_data", None) or {}).get("confirm_form"))
            return response
        finally:
            name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
            if name and not previewed:
                ImportTempStorage(name=name).remove()

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        finally:
            name = request.POST.get("import_file_name", "")
            if name and self.has_import_permission(request):
                ImportTempStorage(name=os.path.basename(name)).remove()
