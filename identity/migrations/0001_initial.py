import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contacts", "0011_identity_hold"),
        ("sync", "0011_held_outbox_reconcile_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SpotlerAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "dedupe_mode",
                    models.CharField(
                        choices=[("externalId", "By external id"), ("email", "By e-mail address")],
                        default="externalId",
                        help_text="Spotler's deduplication rule for the account (Settings → Contacts in Spotler).",
                        max_length=20,
                    ),
                ),
                (
                    "external_id_field",
                    models.CharField(
                        blank=True,
                        default="External id",
                        help_text="The Spotler field the REST key's external id is bound to.",
                        max_length=100,
                    ),
                ),
                (
                    "shared_with_other_systems",
                    models.BooleanField(
                        default=False,
                        help_text="Other linked systems write to this Spotler account too.",
                    ),
                ),
                ("last_check", models.JSONField(blank=True, default=dict)),
                ("last_check_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name": "Spotler account",
            },
        ),
        migrations.CreateModel(
            name="DriftFinding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("missing", "Missing in Spotler"),
                            ("fields", "Mapped fields differ"),
                            ("consent", "Consent differs"),
                            ("unknown", "Unknown to the ledger"),
                        ],
                        max_length=20,
                    ),
                ),
                ("external_id", models.CharField(max_length=100)),
                ("details", models.JSONField(blank=True, default=list)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("pushed", "Pushed again"),
                            ("pulled", "Pulled"),
                            ("ignored", "Ignored"),
                        ],
                        db_index=True,
                        default="open",
                        max_length=20,
                    ),
                ),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("found_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "contact",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="contacts.contact",
                    ),
                ),
                (
                    "resolved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="drift_findings",
                        to="sync.syncrun",
                    ),
                ),
            ],
            options={
                "ordering": ["run", "kind", "external_id"],
                "indexes": [
                    models.Index(fields=["run", "kind"], name="identity_dr_run_id_fc36b5_idx")
                ],
            },
        ),
    ]
