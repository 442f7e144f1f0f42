"""Gives the roles the permissions of the public pages: Admins configure subscribe forms and
lookup pages; Marketers and Admins search Spotler's contacts by property."""

from django.db import migrations

# Frozen, as in 0002: a migration must not change meaning when roles.py does.
ADDED = {
    "manage_public_pages": ("Can configure subscribe forms and lookup pages", ["Admin"]),
    "search_spotler": ("Can search Spotler's contacts by property", ["Marketer", "Admin"]),
}


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
    dependencies = [("spotlersync", "0003_create_cache_tables")]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
