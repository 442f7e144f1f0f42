"""Queue entry points for the bounce inbox (django-q2 runs these by their path)."""

from bounces import notify


def send_bounce_digests() -> str:
    sent = notify.send_digests()
    return f"{sent} digest mail(s) sent"
