"""Customers, items and statuses that rejected rows name but the reference data lacks.

``unknowns_find`` reads them from the rows' raw records (only where the row failed for
that reason and the value is not missing), checked against the reference data as the
load looks it up now; ``unknowns_create`` adds them. Keys are written the way the load
compares them: customer ids and statuses stripped and upper-cased, item descriptions
with their spaces collapsed (compared ignoring case). A customer's name is the first
non-empty name its rows carry (its id when none does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from ingestion.batches.validation import dimensions_load
from ingestion.pipeline.dates import MISSING_TOKENS
from ingestion.pipeline.rules import Reason
from warehouse.models import Customer, Item, RejectedInvoice, Status, key_twins

CUSTOMER, ITEM, STATUS = "customer", "item", "status"
# kind -> (reason code, raw column, model, key field)
KINDS = {
    CUSTOMER: (Reason.UNKNOWN_CUSTOMER, "customer_id", Customer, "customer_id"),
    ITEM: (Reason.UNKNOWN_ITEM, "item_description", Item, "item_description"),
    STATUS: (Reason.UNKNOWN_STATUS, "status", Status, "status_name"),
}


@dataclass
class Unknowns:
    customers: dict[str, str] = field(default_factory=dict)  # customer id -> name
    items: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.customers or self.items or self.statuses)


def _text(value) -> str:
    return " ".join(str(value or "").split())


def unknown_key(kind: str, value) -> str:
    """The value as it is stored in the reference data (see the module docstring)."""
    text = str(value or "").strip() if kind != ITEM else _text(value)
    return text if kind == ITEM else text.upper()


def unknowns_find(rows: Iterable[RejectedInvoice], *, codes_of) -> Unknowns:
    """``codes_of(row)`` gives the reasons a row failed for (first reason and detail)."""
    dims = dimensions_load()
    lookups = {CUSTOMER: dims.customers, ITEM: dims.items, STATUS: dims.statuses}
    found = Unknowns()
    seen_items: dict[str, str] = {}
    for row in rows:
        raw = row.raw_record or {}
        codes = codes_of(row)
        for kind, (code, column, _model, _key) in KINDS.items():
            value = str(raw.get(column) or "").strip()
            if code not in codes or value.lower() in MISSING_TOKENS:
                continue
            key = unknown_key(kind, value)
            lookup_key = " ".join(key.split()).casefold() if kind == ITEM else key
            if lookup_key in lookups[kind]:
                continue
            if kind == CUSTOMER:
                if not found.customers.get(key):
                    found.customers[key] = _text(raw.get("customer_name"))
            elif kind == ITEM:
                seen_items.setdefault(lookup_key, key)
            elif key not in found.statuses:
                found.statuses.append(key)
    found.items = list(seen_items.values())
    return found


def unknowns_create(unknowns: Unknowns, *, kinds: Iterable[str]) -> Unknowns:
    """Add the unknowns of the given kinds; returns those actually created."""
    kinds = set(kinds)
    created = Unknowns()
    with transaction.atomic():
        if CUSTOMER in kinds:
            for customer_id, name in unknowns.customers.items():
                _, new = Customer.objects.get_or_create(
                    customer_id=customer_id, defaults={"customer_name": name or customer_id}
                )
                if new:
                    created.customers[customer_id] = name or customer_id
        if ITEM in kinds:
            for description in unknowns.items:
                if not key_twins(Item, "item_description", description).exists():
                    Item.objects.create(item_description=description)
                    created.items.append(description)
        if STATUS in kinds:
            for name in unknowns.statuses:
                if Status.objects.get_or_create(status_name=name)[1]:
                    created.statuses.append(name)
    return created
