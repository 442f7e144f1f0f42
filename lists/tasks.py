"""django-q2 entry points for temporary lists: ids in, one domain call, a short summary out."""

from django_q.tasks import async_task


def send_list(list_pk: int) -> str:
    """Sends the list; a refresh's replacement, once complete, has the list it replaces
    deleted."""
    from lists import refresh, send

    return send.send_list(list_pk) + refresh.retire_replaced(list_pk)


def delete_list(list_pk: int) -> str:
    from lists import lifecycle

    return lifecycle.delete_list(list_pk)


def expire_temporary_lists() -> str:
    """Scheduled: deletes expired lists, retries deletes Spotler refused ("in use"), and
    queues again the lists whose worker stopped while pushing or sending."""
    from lists import lifecycle, send

    recovered = send.recover_stalled_lists()
    summary = lifecycle.expire_temporary_lists()
    if recovered:
        summary += "; " + "; ".join(recovered)
    return summary


def queue_send(list_pk: int) -> None:
    async_task(send_list, list_pk, group="lists", q_options={"task_name": f"list {list_pk}"})


def queue_delete(list_pk: int) -> None:
    async_task(
        delete_list, list_pk, group="lists", q_options={"task_name": f"delete list {list_pk}"}
    )
