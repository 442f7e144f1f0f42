from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0010_throttle_counters"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outboxentry",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("in_flight", "In flight"),
                    ("done", "Done"),
                    ("failed", "Failed"),
                    ("dismissed", "Dismissed"),
                    ("superseded", "Superseded"),
                    ("held", "Held for review"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="pullwatermark",
            name="kind",
            field=models.CharField(
                choices=[
                    ("push", "Push"),
                    ("backfill", "Backfill"),
                    ("pull_updates", "Pull updates"),
                    ("pull_bounces", "Pull bounces"),
                    ("refresh_properties", "Refresh properties"),
                    ("reconcile", "Reconciliation"),
                ],
                max_length=30,
                unique=True,
            ),
        ),
        migrations.AlterField(
            model_name="syncrun",
            name="kind",
            field=models.CharField(
                choices=[
                    ("push", "Push"),
                    ("backfill", "Backfill"),
                    ("pull_updates", "Pull updates"),
                    ("pull_bounces", "Pull bounces"),
                    ("refresh_properties", "Refresh properties"),
                    ("reconcile", "Reconciliation"),
                ],
                max_length=30,
            ),
        ),
        migrations.AlterField(
            model_name="unknowncontact",
            name="source",
            field=models.CharField(
                choices=[
                    ("push", "Push"),
                    ("backfill", "Backfill"),
                    ("pull_updates", "Pull updates"),
                    ("pull_bounces", "Pull bounces"),
                    ("refresh_properties", "Refresh properties"),
                    ("reconcile", "Reconciliation"),
                ],
                max_length=30,
            ),
        ),
    ]
