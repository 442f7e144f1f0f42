import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0010_metrics_token_scope"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="held_twin",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="contacts.contact",
            ),
        ),
        migrations.AddField(
            model_name="contact",
            name="identity_decision",
            field=models.CharField(blank=True, db_default="", default="", max_length=10),
        ),
        migrations.AlterField(
            model_name="contact",
            name="sync_status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("synced", "Synced"),
                    ("failed", "Failed"),
                    ("dismissed", "Failure dismissed"),
                    ("anonymized", "Anonymized"),
                    ("inactive", "Inactive"),
                    ("held", "Held for review"),
                    ("merged", "Merged into another contact"),
                    ("local_only", "Kept local only"),
                ],
                db_index=True,
                default="pending",
                max_length=20,
            ),
        ),
    ]
