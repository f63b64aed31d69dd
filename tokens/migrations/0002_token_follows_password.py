from django.db import migrations, models

from tokens.models import password_fingerprint


def fingerprint_existing(apps, schema_editor):
    """Tokens made before the fingerprint existed belong to their user's current password."""
    ApiToken = apps.get_model("tokens", "ApiToken")
    for token in ApiToken.objects.select_related("user"):
        token.password_fingerprint = password_fingerprint(token.user.password)
        token.save(update_fields=["password_fingerprint"])


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_api_token")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="revoked_reason",
            field=models.CharField(blank=True, editable=False, max_length=60),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="password_fingerprint",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fingerprint_existing, migrations.RunPython.noop),
    ]
