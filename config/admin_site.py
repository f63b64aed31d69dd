"""The admin site: "Invoice warehouse" branding and an index grouped by task.

It replaces Django's default site (``default_site``), so ``admin.site`` and every
``admin:<app>_<model>_*`` URL name stay as they are.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

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

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        found = {_name(app, m): (app, m) for app in apps for m in app["models"]}
        grouped, used = [], set()
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


class InvoiceAdminConfig(AdminConfig):
    default_site = "config.admin_site.InvoiceAdminSite"
