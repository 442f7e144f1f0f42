"""django-q2 entry points for subscribe forms: one domain call, a short summary out."""

from django_q.tasks import async_task


def send_queued_subscriptions() -> str:
    """Scheduled (and enqueued when a subscription is queued): sends the due ones."""
    from public import subscribe

    return subscribe.send_queued_subscriptions()


def queue_send() -> None:
    async_task(
        send_queued_subscriptions, group="subscriptions", q_options={"task_name": "subscriptions"}
    )
