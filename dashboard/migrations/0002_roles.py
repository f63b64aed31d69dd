"""The groups of ``api.permissions.ROLES`` (Viewer, Finance analyst, Data steward)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from api.permissions import groups_sync


def roles_create(apps, schema_editor):
    # Permissions are normally created after ``migrate``; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    groups_sync(
        group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_sales_permission"),
        ("warehouse", "0006_dimension_keys_ignore_case"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
