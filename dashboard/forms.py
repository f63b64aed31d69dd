"""GET parameters of the dashboard and the API, validated (bad values are errors, not 500s);
the date presets (``dashboard.periods``) and the chips of the applied filters, as links over
the same parameters."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import QueryDict

from dashboard.periods import COMPARE_CHOICES, Preset, dates_text
from warehouse.selectors.sales import DATE_MAX, DATE_MIN, DimensionNames, SalesFilter

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

    def __init__(self, *args, dims: DimensionNames, **kwargs):
        super().__init__(*args, **kwargs)
        self._choice_field("status").choices = [(name, name) for name in sorted(dims.statuses.values())]
        self._choice_field("customer").choices = [
            ("", "All customers"),
            *sorted((cid, f"{name} ({cid})") for cid, name in dims.customers.values()),
        ]
        self._choice_field("item").choices = [("", "All items")] + [
            (i, i) for i in sorted(dims.items.values())
        ]

    def _choice_field(self, name: str) -> forms.ChoiceField:
        """This form's copy of a choice field declared above (``self.fields`` holds them as ``Field``)."""
        return cast(forms.ChoiceField, self.fields[name])

    def clean(self):
        super().clean()
        data = self.cleaned_data
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

    def chips(self, query: QueryDict) -> list[dict]:
        """The applied filters (a valid form), each with the query string that removes it."""
        data, chips = self.cleaned_data, []
        # id -> "Name (id)"; django-stubs' getter type keeps the setter's callable, Django made it a list
        customers = dict(self._choice_field("customer").choices)  # type: ignore[arg-type]
        for name, title in (("start", "From"), ("end", "To"), ("customer", "Customer"), ("item", "Item")):
            value = data.get(name)
            if value:
                text = value.isoformat() if isinstance(value, dt.date) else value
                text = customers.get(text, text) if name == "customer" else text
                chips.append({"label": f"{title} {text}", "query": _without(query, name)})
        chips.extend(
            {"label": f"Status {status}", "query": _without(query, "status", status)}
            for status in data.get("status") or ()
        )
        return chips


def _without(query: QueryDict, name: str, value: str | None = None) -> str:
    rest = query.copy()
    rest.setlist(name, [v for v in rest.getlist(name) if value is not None and v != value])
    return rest.urlencode()


def preset_links(query: QueryDict, presets: list[Preset]) -> list[dict]:
    """Each preset as a query string: the other filters kept, ``start``/``end`` replaced."""
    links = []
    for preset in presets:
        linked = query.copy()
        for name, day in (("start", preset.start), ("end", preset.end)):
            linked.setlist(name, [day.isoformat()] if day else [])
        active = all(query.get(n, "") == linked.get(n, "") for n in ("start", "end"))
        title = dates_text(preset.start, preset.end) if preset.start and preset.end else "every day with data"
        links.append({"label": preset.label, "query": linked.urlencode(), "active": active, "title": title})
    return links


class ComparedFilterForm(SalesFilterForm):
    """The filters and what the figures are compared with (``dashboard.periods``)."""

    compare = forms.ChoiceField(required=False, choices=COMPARE_CHOICES)


class TopForm(SalesFilterForm):
    top = forms.IntegerField(required=False, min_value=1, max_value=1000)


class PeriodForm(ComparedFilterForm):
    period = forms.ChoiceField(required=False, choices=[("monthly", "monthly"), ("weekly", "weekly")])
