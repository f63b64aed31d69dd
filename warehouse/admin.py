"""Admin for the warehouse tables: dimensions (editable, import/export) and facts (read-only).

Natural keys are normalised the way the load looks them up (customer ids and statuses
upper-cased, items compared case-insensitively), so ``c-999`` cannot sit next to
``C-999``. Deleting a dimension row that facts reference is refused (PROTECT).
"""

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from import_export.admin import ExportActionMixin, ImportExportModelAdmin

from warehouse.exports import EXPORT_FORMATS, SafeModelResource
from warehouse.models import Customer, Invoice, Item, Status

KEY_TAKEN = "{value!r} already exists as {existing!r} (keys are compared ignoring case)"


def _normalise_upper(value) -> str:
    return " ".join(str(value or "").split()).upper()


def _normalise_spaces(value) -> str:
    return " ".join(str(value or "").split())


class _KeyForm(forms.ModelForm):
    key_field: str = ""

    def normalise(self, value: str) -> str:
        return _normalise_spaces(value)

    def clean(self):
        cleaned = super().clean()
        value = cleaned.get(self.key_field)
        if value:
            value = cleaned[self.key_field] = self.normalise(value)
            clash = (
                self._meta.model.objects.filter(**{f"{self.key_field}__iexact": value})
                .exclude(pk=self.instance.pk)
                .first()
            )
            if clash is not None:
                self.add_error(
                    self.key_field, KEY_TAKEN.format(value=value, existing=getattr(clash, self.key_field))
                )
        return cleaned


class CustomerForm(_KeyForm):
    key_field = "customer_id"

    class Meta:
        model = Customer
        fields = ("customer_id", "customer_name")

    def normalise(self, value):
        return _normalise_upper(value)


class ItemForm(_KeyForm):
    key_field = "item_description"

    class Meta:
        model = Item
        fields = ("item_description",)


class StatusForm(_KeyForm):
    key_field = "status_name"

    class Meta:
        model = Status
        fields = ("status_name",)

    def normalise(self, value):
        return _normalise_upper(value)


class CustomerResource(SafeModelResource):
    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if row.get("customer_id") is not None:
            row["customer_id"] = _normalise_upper(row["customer_id"])

    class Meta:
        model = Customer
        fields = ("customer_id", "customer_name")
        import_id_fields = ("customer_id",)
        skip_unchanged = True
        report_skipped = True


class ItemResource(SafeModelResource):
    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if row.get("item_description") is not None:
            row["item_description"] = _normalise_spaces(row["item_description"])

    class Meta:
        model = Item
        fields = ("item_description",)
        import_id_fields = ("item_description",)
        skip_unchanged = True
        report_skipped = True


class StatusResource(SafeModelResource):
    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        if row.get("status_name") is not None:
            row["status_name"] = _normalise_upper(row["status_name"])

    class Meta:
        model = Status
        fields = ("status_name",)
        import_id_fields = ("status_name",)
        skip_unchanged = True
        report_skipped = True


class DimensionAdmin(ExportActionMixin, ImportExportModelAdmin):
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
