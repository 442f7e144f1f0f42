"""Creates the table of every database cache in CACHES, so that `migrate` alone leaves a working
installation (the ingest API reads its tokens through the cache).

Django's own `createcachetable` does the work: it creates each DatabaseCache's table with
Django's schema and skips a table that exists. With Redis as the cache there is none to create;
an installation that later drops Redis runs `migrate` or `createcachetable` again (until then
the ingest API carries on without the cache and its log says so: spotlersync/cache_outage.py).
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("spotlersync", "0002_roles")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
