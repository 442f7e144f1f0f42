"""Subscriptions counted per form and per day, for the home page and each form's page."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from public.models import SubscribeForm, Subscription


def daily_counts(*, days: int = 14, form: SubscribeForm | None = None) -> dict[str, object]:
    """Subscriptions per form and per day over the last `days` days (today included):
    {"days": [date, ...], "rows": [(form slug, [count per day], total)]}."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, time.min))
    found = Subscription.objects.filter(created_at__gte=since)
    if form is not None:
        found = found.filter(form=form)
    per = (
        found.annotate(day=TruncDate("created_at"))
        .values("form__slug", "day")
        .annotate(n=Count("id"))
    )
    counted: dict[str, dict[date, int]] = {}
    for row in per:
        counted.setdefault(row["form__slug"], {})[row["day"]] = row["n"]
    dates = [first + timedelta(days=i) for i in range(days)]
    slugs = [form.slug] if form is not None else sorted(counted)
    rows = []
    for slug in slugs:
        numbers = [counted.get(slug, {}).get(d, 0) for d in dates]
        rows.append((slug, numbers, sum(numbers)))
    return {"days": dates, "rows": rows}
