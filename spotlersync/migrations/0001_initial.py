from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Access",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
            ],
            options={
                "managed": False,
                "default_permissions": (),
                "permissions": [
                    ("view_dashboard", "Can see the dashboard"),
                    ("edit_mapping", "Can edit the field mapping"),
                    ("manage_lists", "Can build temporary lists"),
                    ("view_health", "Can read sync health"),
                    ("work_bounces", "Can work bounce follow-up tasks"),
                    ("run_syncs", "Can start, watch and cancel syncs and see the queue"),
                    ("manage_api_tokens", "Can create and revoke API tokens"),
                    ("manage_connection", "Can change the Spotler connection settings"),
                ],
            },
        ),
    ]
