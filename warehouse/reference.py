"""Reference data every warehouse starts with (created by a data migration)."""

STATUSES = ("PAID", "PENDING", "CANCELLED", "PROCESSING", "REFUNDED")

CUSTOMERS = (
    ("C-100", "Acme Corp"),
    ("C-101", "Globex Inc"),
    ("C-102", "Soylent Corp"),
    ("C-103", "Initech"),
    ("C-104", "Umbrella Corp"),
    ("C-105", "Stark Ind"),
    ("C-106", "Wayne Ent"),
    ("C-107", "Cyberdyne"),
    ("C-108", "Massive Dynamic"),
    ("C-109", "Hooli"),
    ("C-110", "Dharma Initiative"),
)

ITEMS = (
    "Server Setup",
    "Audit Service",
    "Licencia Software",
    "Front-end dev",
    "Consultoria Data",
    "API Access",
    "Cloud Storage",
    "Mantenimiento",
)


def reference_data_create(*, customer_model, item_model, status_model) -> None:
    """Create the reference rows that are missing; existing rows are left as they are."""
    for name in STATUSES:
        status_model.objects.get_or_create(status_name=name)
    for customer_id, customer_name in CUSTOMERS:
        customer_model.objects.get_or_create(
            customer_id=customer_id, defaults={"customer_name": customer_name}
        )
    for description in ITEMS:
        item_model.objects.get_or_create(item_description=description)
