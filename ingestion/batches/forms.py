"""The admin upload form: one or more invoice files, size-limited; content is checked once saved."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from ingestion.pipeline.formats import INPUT_SUFFIXES
from warehouse.file_guard import FILE_TOO_LARGE as FILE_TOO_LARGE

FILE_BAD_EXTENSION = "{name}: only invoice files ({suffixes}) can be uploaded"
TOO_MANY_FILES = "at most {limit} files per upload"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(sorted(INPUT_SUFFIXES))}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files if f] or [
            super().clean(None, initial)
        ]


class InvoiceUploadForm(forms.Form):
    # A declared field: Django's form metaclass takes it out of the class, so it does not
    # replace the bound form's ``files`` (which django-stubs cannot tell).
    files = MultipleFileField(  # type: ignore[assignment]
        label="Invoice files",
        help_text="CSV (comma, semicolon or tab), XLSX, XLS or ODS; you can pick several.",
    )
    sheet = forms.CharField(
        required=False,
        max_length=255,
        help_text="Workbooks: the sheet to read. Empty: the first sheet that holds data.",
    )
    force = forms.BooleanField(
        required=False, help_text="Load even if the same file (same sha256) was already loaded."
    )
    dry_run = forms.BooleanField(
        required=False, help_text="Validate and report only: nothing reaches the fact or rejected tables."
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.ADMIN_UPLOAD_MAX_BYTES
        if len(files) > settings.ADMIN_UPLOAD_MAX_FILES:
            raise forms.ValidationError(TOO_MANY_FILES.format(limit=settings.ADMIN_UPLOAD_MAX_FILES))
        errors = []
        for f in files:
            suffix = "." + f.name.rsplit(".", 1)[-1].lower() if "." in f.name else ""
            if suffix not in INPUT_SUFFIXES:
                errors.append(
                    FILE_BAD_EXTENSION.format(name=f.name, suffixes=", ".join(sorted(INPUT_SUFFIXES)))
                )
            elif f.size > limit:
                errors.append(
                    FILE_TOO_LARGE.format(
                        name=f.name, size=filesizeformat(f.size), limit=filesizeformat(limit)
                    )
                )
        if errors:
            raise forms.ValidationError(errors)
        return files
