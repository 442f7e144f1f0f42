"""Bounces of contacts that are erased, anonymized or unknown to the ledger are kept (without a
follow-up): their unique key is the hash of the externalId, which an erased contact keeps."""

import hashlib

from django.db import migrations, models


def fill_hashes(apps, schema_editor):
    Bounce = apps.get_model("bounces", "Bounce")
    for bounce in Bounce.objects.only("pk", "external_id", "email").iterator():
        key = bounce.external_id or f"email:{bounce.email}"
        bounce.external_id_hash = hashlib.sha256(key.encode()).hexdigest()
        bounce.save(update_fields=["external_id_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("bounces", "0002_followups"),
    ]

    operations = [
        migrations.AddField(
            model_name="bounce",
            name="external_id_hash",
            field=models.CharField(
                default="",
                help_text="SHA-256 of the externalId (of the address, if there is none).",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="bounce",
            name="ledger_state",
            field=models.CharField(
                choices=[
                    ("known", "In the ledger"),
                    ("erased", "Erased"),
                    ("anonymized", "Anonymized"),
                    ("unknown", "Unknown to the ledger"),
                ],
                default="known",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="bounce",
            name="external_id",
            field=models.CharField(
                blank=True,
                help_text="Spotler's externalId; empty for an erased contact.",
                max_length=200,
            ),
        ),
        migrations.AlterField(
            model_name="bounce",
            name="email",
            field=models.CharField(
                blank=True,
                help_text="As Spotler reported it; empty for an erased contact.",
                max_length=254,
            ),
        ),
        migrations.RunPython(fill_hashes, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="bounce", name="one_row_per_bounce"),
        migrations.AddConstraint(
            model_name="bounce",
            constraint=models.UniqueConstraint(
                fields=("external_id_hash", "bounced_at", "kind", "mailing_id"),
                name="one_row_per_bounce_key",
            ),
        ),
        migrations.AddIndex(
            model_name="bounce",
            index=models.Index(
                condition=models.Q(("ledger_state", "known"), _negated=True),
                fields=["ledger_state", "bounced_at"],
                name="bounce_without_contact_idx",
            ),
        ),
    ]
