from django.db import migrations, models

# A rejected row's file sha256 is its batch's (load_batch.sha256): every row held a copy.
# Backwards the column comes back filled from the batch (the state's default only lets the
# column be added to existing rows first).


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0014_batch_source_api"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="rejectedinvoice",
                    name="file_sha256",
                    field=models.CharField(default="", max_length=64),
                ),
            ],
        ),
        migrations.RunSQL(
            migrations.RunSQL.noop,
            "UPDATE rejected_invoices SET file_sha256 ="
            " (SELECT b.sha256 FROM load_batch b WHERE b.id = rejected_invoices.batch_id)",
        ),
        migrations.RemoveField(
            model_name="rejectedinvoice",
            name="file_sha256",
        ),
    ]
