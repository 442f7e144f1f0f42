import importlib

from django.core.management import call_command
from django_q.models import Schedule

from sync.schedules import scheduled_jobs


def test_every_scheduled_function_can_be_imported_by_its_path():
    for job in scheduled_jobs():
        module, _, name = job.func.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), job.func


def test_setup_schedules_creates_each_job_once_and_follows_the_configured_interval(db, settings):
    call_command("setup_schedules")
    call_command("setup_schedules")
    job = Schedule.objects.get(name="Refresh Spotler properties")
    assert Schedule.objects.filter(name=job.name).count() == 1
    assert (job.func, job.minutes) == ("mapping.tasks.refresh_catalogue", 60)

    settings.SYNC_REFRESH_PROPERTIES_MINUTES = 15
    call_command("setup_schedules")
    assert Schedule.objects.get(name=job.name).minutes == 15
