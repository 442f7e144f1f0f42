"""Queue entry points for the bounce inbox (django-q2 runs these by their path)."""

from bounces import notify


def send_bounce_digests() -> str:
    sent = notify.send_digests()
    return f"{sent} digest mail(s) sent"


def mail_new_followups(followup_ids: list[int]) -> str:
    """Mail the owners of new follow-ups who asked for mail at once (queued by the bounce pull
    after its commit, so a slow mail server never holds up a pull)."""
    sent = notify.followups_opened(followup_ids=followup_ids)
    return f"{sent} mail(s) sent"
