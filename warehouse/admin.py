"""Admin for the warehouse tables: dimensions (editable, import/export) and facts (read-only).

Natural keys are normalised the way the load looks them up (customer ids and statuses
upper-cased, items compared case-insensitively), so ``c-999`` cannot sit next to
``C-999``: forms refuse the twin, imports match the existing row whatever its letter
case (keeping its spelling), and a unique lower-cased column refuses it in the database.
Deleting a dimension row that facts reference is refused (PROTECT). Import needs add +
change, export needs view (``warehouse.admin_permissions``).
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from import_export.admin import ExportActionMixin, ImportExportModelAdmin

from warehouse.admin_permissions import ImportExportPermissionMixin
from warehouse.exports import EXPORT_FORMATS, ExportAdminMixin, SafeModelResource
from warehouse.imports import GuardedImportMixin
from warehouse.models import Customer, Invoice, Item, Status, key_twins

KEY_TAKEN = "{value!r} already exists as {existing!r} (keys are compared ignoring case)"
IMPORT_CANNOT_CONFIRM = "This import can no longer be confirmed: upload the file again."


def _normalise_upper(value) -> str:
    return " ".join(str(value or "").split()).upper()


def _normalise_spaces(value) -> str:
    return " ".join(str(value or "").split())


class _KeyForm(forms.ModelForm):
    """The add/change form of a dimension row: refuses a key equal to another ignoring case.
    (Made per dimension by ``_dimension_form_and_resource``.)"""

    key_field: str = ""
    normalise: Callable[[str], str]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        value = cleaned.get(self.key_field)
        if value:
            value = cleaned[self.key_field] = self.normalise(value)
            clash = key_twins(self._meta.model, self.key_field, value).exclude(pk=self.instance.pk).first()
            if clash is not None:
                self.add_error(
                    self.key_field, KEY_TAKEN.format(value=value, existing=getattr(clash, self.key_field))
                )
        return cleaned


class _KeyResource(SafeModelResource):
    """Import/export of a dimension table: a row matches the existing row whose key is equal
    ignoring case (its spelling is kept)."""

    key_field: str = ""
    normalise: Callable[[str], str]

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if row.get(self.key_field) is not None:
            value = self.normalise(row[self.key_field])
            existing = (
                key_twins(self._meta.model, self.key_field, value)
                .values_list(self.key_field, flat=True)
                .first()
            )
            row[self.key_field] = value if existing is None else existing


def _dimension_form_and_resource(dimension, *, key: str, columns: tuple[str, ...], normalise):
    """The admin form and the import/export resource of one dimension table, keyed on ``key``
    written the way ``normalise`` writes it."""

    class Form(_KeyForm):
        key_field = key

        class Meta:
            model = dimension
            fields = columns

    class Resource(_KeyResource):
        key_field = key

        class Meta:
            model = dimension
            fields = columns
            import_id_fields = (key,)
            skip_unchanged = True
            report_skipped = True

    for made, suffix in ((Form, "Form"), (Resource, "Resource")):
        made.normalise = staticmethod(normalise)
        made.__name__ = made.__qualname__ = f"{dimension.__name__}{suffix}"
    return Form, Resource


class DimensionAdmin(
    ExportAdminMixin,
    GuardedImportMixin,
    ImportExportPermissionMixin,
    ExportActionMixin,
    ImportExportModelAdmin,
):
    """Import with a preview (confirm step), export all/filtered or the selected rows.

    The add form takes initial values from the query string (Django's own) and, with
    ``next=<admin path>``, returns there once saved (a "fix" button on a rejected row).
    """

    formats = EXPORT_FORMATS

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        target = request.GET.get("next", "")
        plain_save = not any(k in request.POST for k in ("_continue", "_addanother", "_popup"))
        if plain_save and target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
            return HttpResponseRedirect(target)
        return response

    def process_import(self, request, **kwargs):
        """The confirm step, refused with a message (not a server error) when its hidden
        fields do not name a format and a previewed file that is still there."""
        if request.method == "POST" and self.has_import_permission(request):
            form = self.create_confirm_form(request)
            if form.is_valid() and not self._previewed_file_readable(form.cleaned_data):
                self.message_user(request, IMPORT_CANNOT_CONFIRM, messages.ERROR)
                info = self.opts.app_label, self.opts.model_name
                return redirect("admin:{}_{}_import".format(*info))
        return super().process_import(request, **kwargs)

    def _previewed_file_readable(self, data) -> bool:
        formats = self.get_import_formats()
        index = data["format"]
        if not (index.isdigit() and int(index) < len(formats)):
            return False
        input_format = formats[int(index)](encoding=self.from_encoding)
        storage = self.get_tmp_storage_class()(
            name=data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        try:
            return bool(data["import_file_name"]) and storage.read() is not None
        except (OSError, ValueError):
            return False


CustomerForm, CustomerResource = _dimension_form_and_resource(
    Customer, key="customer_id", columns=("customer_id", "customer_name"), normalise=_normalise_upper
)
ItemForm, ItemResource = _dimension_form_and_resource(
    Item, key="item_description", columns=("item_description",), normalise=_normalise_spaces
)
StatusForm, StatusResource = _dimension_form_and_resource(
    Status, key="status_name", columns=("status_name",), normalise=_normalise_upper
)


@admin.register(Customer)
class CustomerAdmin(DimensionAdmin):
    form = CustomerForm
    resource_classes = [CustomerResource]
    list_display = ("customer_id", "customer_name", "customer_key")
    search_fields = ("customer_id", "customer_name")


@admin.register(Item)
class ItemAdmin(DimensionAdmin):
    form = ItemForm
    resource_classes = [ItemResource]
    list_display = ("item_description", "item_key")
    search_fields = ("item_description",)


@admin.register(Status)
class StatusAdmin(DimensionAdmin):
    form = StatusForm
    resource_classes = [StatusResource]
    list_display = ("status_name", "status_key")
    search_fields = ("status_name",)


class ReadOnlyAdminMixin:
    """Rows written only by loads: shown, never added, edited or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The fact table, read-only: facts are written by loads and re-processing only."""

    list_display = (
        "invoice_id",
        "issue_date",
        "customer",
        "item",
        "status",
        "qty",
        "unit_price",
        "total",
        "batch_id",
    )
    list_select_related = ("customer", "item", "status")
    list_filter = ("status",)
    search_fields = ("=invoice_id",)
    search_help_text = "Exact invoice id (case-sensitive)."
    show_full_result_count = False
    list_per_page = 100
