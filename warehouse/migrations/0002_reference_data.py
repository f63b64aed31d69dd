from django.db import migrations

from warehouse.reference import reference_data_create


def create_reference_data(apps, schema_editor):
    reference_data_create(
        customer_model=apps.get_model("warehouse", "Customer"),
        item_model=apps.get_model("warehouse", "Item"),
        status_model=apps.get_model("warehouse", "Status"),
    )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [migrations.RunPython(create_reference_data, migrations.RunPython.noop)]
