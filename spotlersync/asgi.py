import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotlersync.settings")

application = get_asgi_application()

from spotlersync.startup import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors()
