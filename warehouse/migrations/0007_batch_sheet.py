from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0006_dimension_keys_ignore_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="loadbatch",
            name="sheet",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
