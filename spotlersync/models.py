from django.db import models


class Access(models.Model):
    """Holds no rows: it only carries the permissions that the roles are made of.

    The groups that hold these permissions are created by migration 0002 (see `roles.py`).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
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
        ]

    def __str__(self) -> str:
        return "role permissions"
