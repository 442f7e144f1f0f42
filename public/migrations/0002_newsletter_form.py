"""A new installation has one subscribe form, `newsletter`, for permission bit 1, switched off
(`manage.py subscription_form newsletter --on` switches it on)."""

from django.db import migrations


def create_newsletter_form(apps, schema_editor):
    SubscribeForm = apps.get_model("public", "SubscribeForm")
    SubscribeForm.objects.get_or_create(
        slug="newsletter",
        defaults={
            "title": "Subscribe to our newsletter",
            "permission_bits": [1],
            "extra_fields": [],
            "language": "en",
            "enabled": False,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("public", "0001_initial")]

    operations = [migrations.RunPython(create_newsletter_form, migrations.RunPython.noop)]
