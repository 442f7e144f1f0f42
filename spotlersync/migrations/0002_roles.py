"""Creates the three role groups with their permissions."""

from django.db import migrations

# Frozen copy of roles.ROLE_PERMISSIONS as it was when this migration was written: a migration
# must not change meaning when the module does.
ROLE_PERMISSIONS = {
    "Marketer": ["view_dashboard", "edit_mapping", "manage_lists", "view_health"],
    "Account manager": ["view_dashboard", "work_bounces"],
    "Admin": [
        "view_dashboard",
        "edit_mapping",
        "manage_lists",
        "view_health",
        "work_bounces",
        "run_syncs",
        "manage_api_tokens",
        "manage_connection",
    ],
}
PERMISSION_NAMES = {
    "view_dashboard": "Can see the dashboard",
    "edit_mapping": "Can edit the field mapping",
    "manage_lists": "Can build temporary lists",
    "view_health": "Can read sync health",
    "work_bounces": "Can work bounce follow-up tasks",
    "run_syncs": "Can start, watch and cancel syncs and see the queue",
    "manage_api_tokens": "Can create and revoke API tokens",
    "manage_connection": "Can change the Spotler connection settings",
}


def create_roles(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="spotlersync", model="access")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSION_NAMES.items()
    }
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*(permissions[c] for c in codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spotlersync", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
