"""GET parameters of the dashboard and the API, validated (bad values are errors, not 500s)."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from warehouse.selectors import DATE_MAX, DATE_MIN, Dimensions, SalesFilter

START_AFTER_END = "must be on or before end"
DATE_FORMAT = "%Y-%m-%d"
DATE_OUT_OF_RANGE = f"must be between {DATE_MIN:%Y-%m-%d} and {DATE_MAX:%Y-%m-%d}"


def _date_field() -> forms.DateField:
    """``YYYY-MM-DD`` within the range every supported database stores (MySQL's DATE range)."""
    return forms.DateField(
        required=False,
        input_formats=[DATE_FORMAT],
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[
            MinValueValidator(DATE_MIN, message=DATE_OUT_OF_RANGE),
            MaxValueValidator(DATE_MAX, message=DATE_OUT_OF_RANGE),
        ],
    )


class SalesFilterForm(forms.Form):
    start = _date_field()
    end = _date_field()
    status = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    customer = forms.ChoiceField(required=False)
    item = forms.ChoiceField(required=False)

    def __init__(self, *args, dims: Dimensions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(name, name) for name in sorted(dims.statuses.values())]
        self.fields["customer"].choices = [("", "All customers")] + sorted(
            (cid, f"{name} ({cid})") for cid, name in dims.customers.values()
        )
        self.fields["item"].choices = [("", "All items")] + [(i, i) for i in sorted(dims.items.values())]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", START_AFTER_END)
        return data

    def sales_filter(self) -> SalesFilter:
        data = self.cleaned_data
        return SalesFilter(
            start=data.get("start"),
            end=data.get("end"),
            statuses=tuple(data.get("status") or ()),
            customer_id=data.get("customer") or None,
            item=data.get("item") or None,
        )

    def first_error(self) -> str:
        name, messages = next(iter(self.errors.items()))
        return f"{name}: {messages[0]}"


class TopForm(SalesFilterForm):
    top = forms.IntegerField(required=False, min_value=1, max_value=1000)


class PeriodForm(SalesFilterForm):
    period = forms.ChoiceField(required=False, choices=[("monthly", "monthly"), ("weekly", "weekly")])


class LimitForm(forms.Form):
    limit = forms.IntegerField(required=False, min_value=1, max_value=500)

    def first_error(self) -> str:
        name, messages = next(iter(self.errors.items()))
        return f"{name}: {messages[0]}"
