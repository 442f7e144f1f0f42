"""The duplicates report's permission, for Marketers and Admins."""

from django.db import migrations

# Frozen, as in 0002: a migration must not change meaning when roles.py does.
ADDED = {"review_duplicates": ("Can read the duplicates report", ["Marketer", "Admin"])}


def add_permissions(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="spotlersync", model="access")
    for codename, (name, groups) in ADDED.items():
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        for group_name in groups:
            group, _ = Group.objects.get_or_create(name=group_name)
            group.permissions.add(permission)


def remove_permissions(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="spotlersync", codename__in=ADDED
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spotlersync", "0005_access_public_permissions"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="access",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
                    ("view_dashboard", "Can see the dashboard"),
                    ("edit_mapping", "Can edit the field mapping"),
                    ("manage_lists", "Can build temporary lists"),
                    ("view_health", "Can read sync health"),
                    ("work_bounces", "Can work bounce follow-up tasks"),
                    ("run_syncs", "Can start, watch and cancel syncs and see the queue"),
                    ("manage_api_tokens", "Can create and revoke API tokens"),
                    ("manage_connection", "Can change the Spotler connection settings"),
                    ("manage_public_pages", "Can configure subscribe forms and lookup pages"),
                    ("search_spotler", "Can search Spotler's contacts by property"),
                    ("review_duplicates", "Can read the duplicates report"),
                ],
            },
        ),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
