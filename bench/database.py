"""A fresh PostgreSQL database of a benchmark's own, and Django set up to use it."""

import os
import subprocess

PG = ["-h", "127.0.0.1", "-U", "postgres"]


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def set_up_fresh_database(name: str, *, redis_url: str = "", **environment: str) -> None:
    """Drop and create `name`, point Django at it (and at `redis_url`, if any), migrate.

    `environment` goes into os.environ first (e.g. SPOTLER_BASE_URL), so settings read it.
    """
    subprocess.run(["dropdb", *PG, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *PG, name], check=True)
    os.environ.update(environment)
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotlersync.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["NAME"] != name:
        raise RuntimeError("Django was set up before this benchmark; run it on its own.")
    call_command("migrate", verbosity=0)
    if not redis_url:
        call_command("createcachetable", verbosity=0)
