from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class SpotlersyncConfig(AppConfig):
    name = "spotlersync"
    verbose_name = "spotlersync"

    def ready(self) -> None:
        from spotlersync import checks  # noqa: F401  (registers the system checks)


class SpotlersyncAdminConfig(AdminConfig):
    default_site = "spotlersync.admin_site.SpotlersyncAdminSite"
