"""The home page shows the queue's real state: a real cluster, real tasks, real schedules."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.tasks import async_task

from sync.schedules import setup_schedules
from tests.conftest import transactional
from tests.helpers import wait_for
from tests.queue_cluster import running_cluster
from tests.spotlersync import sample_tasks


def home_text(client) -> str:
    return client.get(reverse("queue-summary")).content.decode()


@transactional
def test_home_says_the_cluster_is_not_running_and_counts_queued_work(client, admin_user):
    client.force_login(admin_user)
    # Redis keeps what earlier tests (and runs) queued; the count starts from an empty queue.
    get_broker().purge_queue()
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


def schedule_cells(html: str, name: str) -> list[str]:
    """The cells of one job's row in the scheduled jobs table, as text."""
    row = re.search(rf"<tr[^>]*>\s*<td>{name}</td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]


@transactional
def test_the_watchdog_shows_its_real_last_success_alike_on_home_and_health(client, admin_user):
    client.force_login(admin_user)
    setup_schedules()
    now = timezone.now()
    Schedule.objects.update(next_run=now + timedelta(hours=1))
    Schedule.objects.filter(name="Watch sync runs").update(next_run=now - timedelta(seconds=1))

    def health_text() -> str:
        return client.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()

    assert schedule_cells(home_text(client), "Watch sync runs")[1] == "—"
    with running_cluster(workers=1):
        scheduler(broker=get_broker())  # what the cluster does every 30 s, done now
        assert wait_for(lambda: schedule_cells(home_text(client), "Watch sync runs")[1] != "—")
    home = schedule_cells(home_text(client), "Watch sync runs")
    assert home == schedule_cells(health_text(), "Watch sync runs")
    assert re.fullmatch(r"\d+ \w+ \d\d:\d\d:\d\d \(\d+\s\w+ ago\)", home[1]), home
    assert home[3] == "on time"


def test_home_says_the_broker_does_not_answer_when_redis_is_down(client, admin_user, monkeypatch):
    # The queue's Redis at a port nobody listens on (django-q2 reads its settings at start-up).
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
    client.force_login(admin_user)

    response = client.get(reverse("queue-summary"))

    assert response.status_code == 200
    assert "Broker unreachable" in response.content.decode()
    assert "Redis does not answer" in response.content.decode()
