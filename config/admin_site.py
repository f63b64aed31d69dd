"""The admin site: "Invoice warehouse" branding and an index grouped by task.

It replaces Django's default site (``default_site``), so ``admin.site`` and every
``admin:<app>_<model>_*`` URL name stay as they are.
"""

from functools import wraps

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

NO_SUCH_ROWS = "The rows selected are not rows of this list: nothing was done."

# (group title, models in the order a data steward uses them); other apps follow unchanged.
TASK_GROUPS = (
    ("Loads", ("warehouse.LoadBatch",)),
    ("Rejected rows", ("warehouse.RejectedInvoice",)),
    ("Reference data", ("warehouse.Customer", "warehouse.Item", "warehouse.Status")),
    ("Warehouse facts", ("warehouse.Invoice",)),
)


def _name(app: dict, model: dict) -> str:
    return f"{app['app_label']}.{model['object_name']}"


class InvoiceAdminSite(admin.AdminSite):
    site_header = "Invoice warehouse"
    site_title = "Invoice warehouse"
    index_title = "Loads, rejected rows and reference data"
    # The index lists every page grouped by task; without the side menu the batch and
    # rejected-row lists keep their columns on a 1400 px screen.
    enable_nav_sidebar = False

    def admin_view(self, view, cacheable=False):
        model_admin = getattr(view, "__self__", None)
        if getattr(view, "__name__", "") == "changelist_view" and model_admin is not None:
            view = _selection_checked(view, model_admin)
        return super().admin_view(view, cacheable)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:  # a model admin may name its add link (``add_label``): "Upload a file"
            for model in app["models"]:
                label = getattr(self._registry.get(model["model"]), "add_label", None)
                if label:
                    model["add_label"] = label
        if app_label is not None:
            return apps
        found = {_name(app, m): (app, m) for app in apps for m in app["models"]}
        grouped, used = [], set[str]()
        for title, names in TASK_GROUPS:
            members = [found[name] for name in names if name in found]
            if not members:
                continue
            used.update(name for name in names if name in found)
            app = members[0][0]
            grouped.append(
                {
                    **app,
                    "name": title,
                    "app_url": members[0][1]["admin_url"] or app["app_url"],
                    "models": [model for _, model in members],
                }
            )
        rest = [{**app, "models": [m for m in app["models"] if _name(app, m) not in used]} for app in apps]
        return grouped + [app for app in rest if app["models"]]


def _selection_checked(changelist_view, model_admin):
    """A list action on ids that are not keys of the model (``1.5``, ``x``) is refused with a
    message, for every admin (Django's own filter would raise a server error)."""

    @wraps(changelist_view)
    def view(request, *args, **kwargs):
        if request.method == "POST" and "action" in request.POST:
            key = model_admin.opts.pk
            try:
                for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
                    key.to_python(value)
            except ValidationError:
                messages.error(request, NO_SUCH_ROWS)
                return redirect(request.get_full_path())
        return changelist_view(request, *args, **kwargs)

    return view


class InvoiceAdminConfig(AdminConfig):
    default_site = "config.admin_site.InvoiceAdminSite"
