"""Who can do what: the project's permission model, declared once.

``CAPABILITIES`` says which permissions each thing a user can do needs (all of them);
``ROLES`` says which permissions each group holds. From them come: the guards of the
dashboard and the API (``api.refusals``, ``dashboard.access``, ``api.auth``), the groups (the
``dashboard`` data migrations create them) and the "Who can do what" table of docs/admin.md
(``permission_table``; a test checks that page holds exactly that table).

Django's own ``view``/``add``/``change``/``delete`` permissions of each model guard its
admin pages; import needs ``add`` and ``change`` of the model, export needs ``view``
(``warehouse.admin_permissions``).
"""

from __future__ import annotations

VIEW_SALES = "dashboard.view_sales"
VIEW_BATCHES = "warehouse.view_loadbatch"
UPLOAD = "warehouse.add_loadbatch"
VIEW_REJECTED = "warehouse.view_rejectedinvoice"
REPROCESS = "warehouse.change_rejectedinvoice"

# Permissions that may change what a sales answer contains (not only whether it is given):
# cached answers are kept apart by the ones a user holds (``dashboard.cache``).
ANSWER_SHAPING = (VIEW_BATCHES,)

_DIMENSIONS = ("customer", "item", "status")


def _perms(action: str, *models: str) -> tuple[str, ...]:
    return tuple(f"warehouse.{action}_{model}" for model in models)


# What a user does -> the permissions it needs. Order is the docs/admin.md table's order.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "read the sales dashboard, its chart CSVs, the invoices behind its figures and `/api/sells/*`": (
        VIEW_SALES,
    ),
    "see batches, their live progress and `/api/batches/`; export batches": (VIEW_BATCHES,),
    "upload files, re-run and cancel batches": (VIEW_BATCHES, UPLOAD),
    "browse, filter and export rejected rows": (VIEW_REJECTED,),
    "re-process rejected rows": (VIEW_REJECTED, REPROCESS),
    "see the facts (read-only)": ("warehouse.view_invoice",),
    "see and export customers, items, statuses": _perms("view", *_DIMENSIONS),
    "add, edit and import customers, items, statuses": _perms("view", *_DIMENSIONS)
    + _perms("add", *_DIMENSIONS)
    + _perms("change", *_DIMENSIONS),
    "delete customers, items, statuses (none that facts use)": _perms("delete", *_DIMENSIONS),
    "manage users, groups and login lockouts (superusers: no group holds these)": (
        "auth.change_user",
        "auth.change_group",
        "axes.delete_accessattempt",
    ),
}

_VIEW_ALL = (
    VIEW_SALES,
    VIEW_BATCHES,
    VIEW_REJECTED,
    "warehouse.view_invoice",
    *_perms("view", *_DIMENSIONS),
)

# The groups. The ``dashboard`` migrations create them from a copy of this table: a change here
# is also a new migration (docs/development.md); config/tests/test_permissions.py compares them.
ROLES: dict[str, tuple[str, ...]] = {
    "Viewer": _VIEW_ALL,
    "Finance analyst": (VIEW_SALES, "warehouse.view_invoice", *_perms("view", *_DIMENSIONS)),
    "Data steward": (
        *_VIEW_ALL,
        UPLOAD,
        REPROCESS,
        *_perms("add", *_DIMENSIONS),
        *_perms("change", *_DIMENSIONS),
    ),
}


def _brace(names: dict) -> str:
    return next(iter(names)) if len(names) == 1 else "{" + ",".join(names) + "}"


def _needs(perms: tuple[str, ...]) -> str:
    """``warehouse.{view,add}_{item,status}`` for a full product of actions and models."""
    parsed = [(p.split(".")[0], *p.split(".", 1)[1].split("_", 1)) for p in perms]
    apps_, actions, models = (dict.fromkeys(x[i] for x in parsed) for i in range(3))
    if len(apps_) == 1 and len(parsed) == len(actions) * len(models) == len(set(perms)) > 1:
        return f"`{next(iter(apps_))}.{_brace(actions)}_{_brace(models)}`"
    return ", ".join(f"`{p}`" for p in perms)


def permission_table() -> str:
    """The "Who can do what" table of docs/admin.md (Markdown), from ``CAPABILITIES`` and ``ROLES``."""
    roles = list(ROLES)
    lines = [
        "| a staff user can | with the permissions | " + " | ".join(roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for what, perms in CAPABILITIES.items():
        held = ["yes" if set(perms) <= set(ROLES[role]) else "" for role in roles]
        lines.append(f"| {what} | {_needs(perms)} | " + " | ".join(held) + " |")
    return "\n".join(lines)
