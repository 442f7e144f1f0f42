"""The home page shows the queue's real state: a real cluster, real tasks, real schedules."""

import time

from django.urls import reverse
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from tests.conftest import transactional
from tests.queue_cluster import running_cluster
from tests.spotlersync import sample_tasks


def home_text(client) -> str:
    return client.get(reverse("queue-summary")).content.decode()


def wait_for(condition, *, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@transactional
def test_home_says_the_cluster_is_not_running_and_counts_queued_work(client, admin_user):
    client.force_login(admin_user)
    async_task(sample_tasks.succeed)
    async_task(sample_tasks.succeed)
    # a cluster an earlier test stopped is still reported for its last 3 seconds
    assert wait_for(lambda: "Not running" in home_text(client), seconds=6)
    text = home_text(client)
    assert '<p class="figure">2</p>' in text


@transactional
def test_home_shows_a_running_cluster_its_workers_and_a_failed_task(client, admin_user):
    client.force_login(admin_user)
    with running_cluster(workers=2):
        # Until its stats expire (seconds), the cluster an earlier test stopped still counts.
        assert wait_for(lambda: "1 cluster, 2 workers" in home_text(client)), home_text(client)
        assert "Running" in home_text(client)
        async_task(sample_tasks.fail)
        assert wait_for(lambda: 'class="figure state-bad">1</p>' in home_text(client))
    detail = client.get(reverse("queue-detail")).content.decode()
    assert "tests.spotlersync.sample_tasks.fail" in detail
    assert "the sample task failed on purpose" in detail


def test_home_lists_scheduled_jobs(client, admin_user):
    client.force_login(admin_user)
    Schedule.objects.create(
        name="Pull bounces",
        func="tests.spotlersync.sample_tasks.succeed",
        schedule_type=Schedule.MINUTES,
        minutes=60,
    )
    text = home_text(client)
    assert "Pull bounces" in text
    assert "every 60 min" in text
    assert "not run yet" in text


def test_home_says_the_broker_does_not_answer_when_redis_is_down(client, admin_user, monkeypatch):
    # The queue's Redis at a port nobody listens on (django-q2 reads its settings at start-up).
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
    client.force_login(admin_user)

    response = client.get(reverse("queue-summary"))

    assert response.status_code == 200
    assert "Broker unreachable" in response.content.decode()
    assert "Redis does not answer" in response.content.decode()
