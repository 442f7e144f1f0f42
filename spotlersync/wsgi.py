"""WSGI entry point for gunicorn: `gunicorn spotlersync.wsgi`.

gunicorn runs no system checks by itself; this does, so a production start with the
development SECRET_KEY or without Spotler credentials stops here with the reason.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotlersync.settings")

application = get_wsgi_application()

from spotlersync.startup import refuse_to_start_on_errors  # noqa: E402

refuse_to_start_on_errors()
