import django.db.models.functions.text
from django.db import migrations, models

DUPLICATES = (
    "{table}: these keys differ only in letter case and cannot stay apart: {keys}. "
    "Rename one of each pair in the admin (or merge their facts), then migrate again."
)
KEYS = (("Customer", "customer_id"), ("Item", "item_description"), ("Status", "status_name"))


def refuse_case_duplicates(apps, schema_editor):
    """A clear error instead of an IntegrityError when an older install holds case twins."""
    for model_name, field in KEYS:
        model = apps.get_model("warehouse", model_name)
        seen: dict[str, str] = {}
        twins = []
        for key in model.objects.values_list(field, flat=True):
            if key.lower() in seen:
                twins.append(f"{seen[key.lower()]!r} / {key!r}")
            seen.setdefault(key.lower(), key)
        if twins:
            raise RuntimeError(DUPLICATES.format(table=model._meta.db_table, keys=", ".join(twins)))


def _folded(field, max_length):
    return models.GeneratedField(
        db_persist=True,
        expression=django.db.models.functions.text.Lower(field),
        output_field=models.CharField(max_length=max_length),
        unique=True,
    )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0005_batch_lease")]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.AddField(model_name="customer", name="customer_id_ci", field=_folded("customer_id", 32)),
        migrations.AddField(
            model_name="item", name="item_description_ci", field=_folded("item_description", 200)
        ),
        migrations.AddField(model_name="status", name="status_name_ci", field=_folded("status_name", 32)),
    ]
