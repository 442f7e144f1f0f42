import importlib

from django.core.management import call_command
from django_q.models import Schedule

from sync import tasks
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


def test_a_schedule_saved_under_the_push_tasks_old_path_still_pushes_and_setup_renames_it(db):
    # Written by a deploy from before the push task was renamed; tasks queued then name it too.
    Schedule.objects.create(
        name="Push pending changes", func="sync.tasks.push_outbox", schedule_type=Schedule.MINUTES
    )
    module, _, name = "sync.tasks.push_outbox".rpartition(".")
    assert getattr(importlib.import_module(module), name) is tasks.push_pending_changes

    call_command("setup_schedules")

    job = Schedule.objects.get(name="Push pending changes")
    assert job.func == "sync.tasks.push_pending_changes"
