"""`manage.py subscription_form <slug> --on|--off`: switch a subscribe form on or off."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import trail
from public.models import SubscribeForm


class Command(BaseCommand):
    help = "Switch a subscribe form on (its page and JSON endpoint answer) or off (404)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the form's slug, e.g. newsletter")
        state = parser.add_mutually_exclusive_group(required=True)
        state.add_argument("--on", action="store_true", help="switch the form on")
        state.add_argument("--off", action="store_true", help="switch the form off")

    def handle(self, *args, slug: str, on: bool, off: bool, **options) -> None:
        form = SubscribeForm.objects.filter(slug=slug).first()
        if form is None:
            known = ", ".join(SubscribeForm.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"There is no subscribe form “{slug}” (forms: {known}).")
        wanted = on and not off
        word = "on" if wanted else "off"
        if form.enabled == wanted:
            self.stdout.write(f"The subscribe form “{slug}” was already switched {word}.")
            return
        form.enabled = wanted
        form.save(update_fields=["enabled", "updated_at"])
        trail.record(
            actor="manage.py subscription_form", action=f"switched {word}",
            object_type="subscribe form", obj=form, object_label=slug,
            before={"enabled": not wanted}, after={"enabled": wanted},
        )  # fmt: skip
        where = f"/subscribe/{slug}/" + (" now answers." if wanted else " now answers 404.")
        self.stdout.write(f"The subscribe form “{slug}” is switched {word}: {where}")
