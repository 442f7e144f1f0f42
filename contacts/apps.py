from django.apps import AppConfig
from django.db.models.signals import post_delete


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Contacts"

    def ready(self) -> None:
        from contacts.models import ApiToken
        from contacts.tokens import forget_deleted_token

        post_delete.connect(forget_deleted_token, sender=ApiToken, dispatch_uid="forget-api-token")
