"""System checks that refuse a production start with development secrets.

They run on `manage.py check`, `runserver`, `qcluster` and every other management command,
and when gunicorn loads `spotlersync.wsgi`.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@register(Tags.security, deploy=False)
def check_production_secrets(app_configs, **kwargs) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default while DEBUG is off.",
                hint="Set SECRET_KEY in the environment to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
                id="spotlersync.E001",
            )
        )
    if not settings.SPOTLER_CONSUMER_KEY or not settings.SPOTLER_CONSUMER_SECRET:
        errors.append(
            Error(
                "Spotler credentials are missing while DEBUG is off.",
                hint="Set SPOTLER_CONSUMER_KEY and SPOTLER_CONSUMER_SECRET to the pair created "
                "in Spotler (Account & Billing > Integrations > REST API).",
                id="spotlersync.E002",
            )
        )
    elif _uses_sandbox_pair_against_remote_spotler():
        errors.append(
            Error(
                "The sandbox demo credentials are set for a Spotler that is not on this machine "
                f"({urlsplit(settings.SPOTLER_BASE_URL).hostname}).",
                hint="Set SPOTLER_CONSUMER_KEY and SPOTLER_CONSUMER_SECRET to your own pair.",
                id="spotlersync.E003",
            )
        )
    return errors


def _uses_sandbox_pair_against_remote_spotler() -> bool:
    demo_pair = (
        settings.SPOTLER_CONSUMER_KEY == settings.SANDBOX_CONSUMER_KEY
        or settings.SPOTLER_CONSUMER_SECRET == settings.SANDBOX_CONSUMER_SECRET
    )
    return demo_pair and urlsplit(settings.SPOTLER_BASE_URL).hostname not in LOOPBACK_HOSTS
