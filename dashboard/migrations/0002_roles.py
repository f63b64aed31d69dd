"""The groups Viewer, Finance analyst and Data steward, holding the permissions the roles had
when this migration was written (a copy: the migration never reads ``api.permissions``, so a
later change of the roles cannot rewrite it). A role changed later is a new migration that sets
the groups to the new lists; ``config/tests/test_permissions.py`` fails while
``api.permissions.ROLES`` and the groups the migrations create differ (docs/development.md)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

_VIEW_ALL = (
    "dashboard.view_sales",
    "warehouse.view_loadbatch",
    "warehouse.view_rejectedinvoice",
    "warehouse.view_invoice",
    "warehouse.view_customer",
    "warehouse.view_item",
    "warehouse.view_status",
)
ROLES = {
    "Viewer": _VIEW_ALL,
    "Finance analyst": (
        "dashboard.view_sales",
        "warehouse.view_invoice",
        "warehouse.view_customer",
        "warehouse.view_item",
        "warehouse.view_status",
    ),
    "Data steward": (
        *_VIEW_ALL,
        "warehouse.add_loadbatch",
        "warehouse.change_rejectedinvoice",
        "warehouse.add_customer",
        "warehouse.add_item",
        "warehouse.add_status",
        "warehouse.change_customer",
        "warehouse.change_item",
        "warehouse.change_status",
    ),
}


def roles_create(apps, schema_editor):
    # Permissions are normally created after ``migrate``; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model, permission_model = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.set(
            [
                permission_model.objects.get(content_type__app_label=app, codename=codename)
                for app, codename in (p.split(".", 1) for p in perms)
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_sales_permission"),
        ("warehouse", "0006_dimension_keys_ignore_case"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
