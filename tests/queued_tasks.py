"""The tasks waiting on the queue broker, taken off it as a worker would (for tests that check
what was queued, and then run it, without starting a cluster)."""

from django_q.brokers import get_broker
from django_q.signing import SignedPackage


def take_queued_tasks() -> list[dict]:
    """Every task queued now, removed from the broker: django-q2's task dicts (func, args,
    kwargs, group, ...)."""
    broker = get_broker()
    taken = []
    for _ in range(broker.queue_size() or 0):
        for ack_id, payload in broker.dequeue() or []:
            taken.append(SignedPackage.loads(payload))
            if ack_id is not None:
                broker.acknowledge(ack_id)
    return taken


def run_task(task: dict):
    """Run a taken task in this process, as a worker does."""
    return task["func"](*task["args"], **task["kwargs"])
