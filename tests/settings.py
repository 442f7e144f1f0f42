"""Settings for the test suite (pytest's DJANGO_SETTINGS_MODULE): the project's own, with DEBUG
on unless the environment says otherwise.

DEBUG defaults to off (production). The tests want what `make run` has: the development secret
key accepted, plain HTTP (no redirect to HTTPS), static files served without `collectstatic`.
The variable is set in the environment, not just here, so that the queue clusters and servers
the tests start as processes of their own run the same way. pytest-django still runs each test
with `settings.DEBUG` False, as Django's test runner does; tests of production behaviour set
DEBUG=False (and what it needs) themselves.
"""

import os

os.environ.setdefault("DEBUG", "True")

from spotlersync.settings import *  # noqa: F403
