"""OpenAPI query parameters derived from the Django forms that validate them (one definition)."""

from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

_DESCRIPTIONS = {
    "start": "First day, YYYY-MM-DD (inclusive, on issue_date); not after end.",
    "end": "Last day, YYYY-MM-DD (inclusive).",
    "status": "Repeatable; replaces the counted statuses (default DASHBOARD_REVENUE_STATUSES).",
    "customer": "A customer id, e.g. C-101.",
    "item": "An item description, e.g. API Access.",
    "top": "How many rows.",
    "period": "monthly (2024-01) or ISO weeks (2023-W07).",
    "compare": (
        "What the range is compared with: previous (the period of equal length just before),"
        " calendar (the previous calendar month, quarter or year: the fewest whole months back that"
        " end before start), last_year (the same days twelve months earlier). Default: calendar when"
        " start..end is whole months, else previous. No comparison without start."
    ),
    "limit": "How many rows.",
}


def _schema(field: forms.Field) -> dict:
    if isinstance(field, forms.MultipleChoiceField):
        return {"type": "array", "items": {"type": "string"}}
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, forms.IntegerField):
        schema: dict[str, object] = {"type": "integer"}
        for validator in field.validators:
            if isinstance(validator, MinValueValidator):
                schema["minimum"] = validator.limit_value
            elif isinstance(validator, MaxValueValidator):
                schema["maximum"] = validator.limit_value
        return schema
    if isinstance(field, forms.ChoiceField) and field.choices:
        # django-stubs' getter type keeps the setter's callable; Django has turned it into a list.
        enum = [value for value, _ in field.choices if value]  # type: ignore[union-attr]
        return {"type": "string", "enum": enum}
    return {"type": "string"}


def form_parameters(form_class) -> list[dict]:
    """The form's fields as OpenAPI ``in: query`` parameters (choices read from the database
    at request time are documented as strings)."""
    parameters = []
    for name, field in form_class.base_fields.items():
        parameter = {"name": name, "in": "query", "required": field.required, "schema": _schema(field)}
        if isinstance(field, forms.MultipleChoiceField):
            parameter.update(style="form", explode=True)
        if name in _DESCRIPTIONS:
            parameter["description"] = _DESCRIPTIONS[name]
        parameters.append(parameter)
    return parameters
