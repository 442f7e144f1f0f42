from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "public"
    verbose_name = "Subscribe forms and lookup pages"
