"""E-mail about new follow-ups: at once, or a daily digest, as each owner chose.

Mail goes through Django's mail backend (EMAIL_URL; the demo prints it to the console).
"""

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from audit import trail
from bounces.models import FollowUp, NotificationPreference, NotifyChoice

logger = logging.getLogger(__name__)


def choice_of(user: User) -> str:
    pref = NotificationPreference.objects.filter(user=user).first()
    return pref.choice if pref else NotifyChoice.NONE


def save_choice(*, user: User, choice: str) -> None:
    """How `user` hears about new follow-ups (their own setting; recorded in the audit trail)."""
    before = choice_of(user)
    NotificationPreference.objects.update_or_create(user=user, defaults={"choice": choice})
    if before != choice:
        trail.record(
            actor=user, action="changed", object_type="notification settings", obj=user,
            object_label=user.get_username(), before={"choice": before}, after={"choice": choice},
        )  # fmt: skip


def followups_opened(*, followup_ids: list[int]) -> int:
    """Mail the owners of new follow-ups who asked for mail at once; returns how many mails."""
    wanting = NotificationPreference.objects.filter(choice=NotifyChoice.IMMEDIATE)
    followups = FollowUp.objects.filter(
        pk__in=followup_ids, owner__in=wanting.values("user_id")
    ).select_related("owner", "contact")
    return sum(followup_opened(f) for f in followups if f.owner.email)


def followup_opened(followup: FollowUp) -> bool:
    subject = f"New bounce follow-up: {followup.contact.name or followup.email}"
    body = (
        f"A mail to {followup.email} bounced ({followup.get_kind_display().lower()}).\n"
        f"Due {timezone.localtime(followup.due_at):%d %b %Y}.\n\n"
        f"{site_url(reverse('bounces:followup-detail', args=[followup.pk]))}\n"
    )
    return _send(subject, body, followup.owner)


def send_digests(*, now=None) -> int:
    """Mail each owner who chose the daily digest the follow-ups opened for them since the last
    one; returns how many mails went out."""
    now = now or timezone.now()
    sent = 0
    prefs = NotificationPreference.objects.filter(choice=NotifyChoice.DAILY).select_related("user")
    for pref in prefs:
        since = pref.digest_sent_at or now - timezone.timedelta(days=1)
        new = list(
            FollowUp.objects.filter(owner=pref.user, opened_at__gt=since, opened_at__lte=now)
            .select_related("contact")
            .order_by("opened_at")[:200]
        )
        if new and pref.user.email:
            lines = [
                f"- {f.contact.name or f.email} <{f.email}>, {f.get_kind_display().lower()}: "
                f"{site_url(reverse('bounces:followup-detail', args=[f.pk]))}"
                for f in new
            ]
            subject = f"{len(new)} new bounce follow-up{'s' if len(new) != 1 else ''}"
            sent += _send(subject, "\n".join(lines) + "\n", pref.user)
        pref.digest_sent_at = now
        pref.save(update_fields=["digest_sent_at"])
    return sent


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _send(subject: str, body: str, user: User) -> bool:
    try:
        send_mail(subject, body, None, [user.email])
    except OSError as error:  # the mail server is unreachable: the inbox still has the work
        # The user's id, not the address or the error's text (SMTP errors quote the address).
        logger.warning(
            "Could not mail user %s about follow-ups: %s", user.pk, error.__class__.__name__
        )
        return False
    return True
