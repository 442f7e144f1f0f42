"""The public entry points of Spotler's integration guide: subscribe forms (visitors register
themselves in Spotler, `POST subscription/subscribe`, spotler-api.md §11) and lookup pages (a
visitor's code is searched in Spotler, `GET contact/search`, §12). Both are configured by
Admins; neither is a sync path of the ledger."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

SLUG_HELP = "Lower-case letters, digits and hyphens; the page's address: /subscribe/<slug>/."


class SubscribeForm(models.Model):
    """A subscribe form: which permissions it switches on and what it asks besides the address."""

    slug = models.SlugField(max_length=50, unique=True, help_text=SLUG_HELP)
    title = models.CharField(max_length=200, default="Subscribe to our newsletter")
    # The Spotler permission bits a subscription switches on, e.g. [1].
    permission_bits = models.JSONField(default=list)
    # The extra fields asked, in order: [{"property": "firstName", "label": "First name",
    # "required": false}]; each is a Spotler property, validated against its type.
    extra_fields = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=35, default="en")
    # Nothing sends a confirmation mail, so the default promises none.
    thank_you_text = models.TextField(default="Thank you for subscribing.")
    # Origins (scheme://host[:port]) whose pages may post to the JSON endpoint.
    allowed_origins = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class SubscriptionState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent to Spotler"
    FAILED = "failed", "Refused by Spotler"


class Subscription(models.Model):
    """One subscription through a form, kept until Spotler has it (queued when Spotler is down
    or throttles; a permanent refusal keeps Spotler's reason)."""

    form = models.ForeignKey(SubscribeForm, on_delete=models.PROTECT, related_name="subscriptions")
    email = models.EmailField(max_length=254)
    # The extra fields' values, converted to their Spotler types ({"firstName": "Ann"}).
    properties = models.JSONField(default=dict, blank=True)
    permission_bits = models.JSONField(default=list)
    state = models.CharField(
        max_length=20, choices=SubscriptionState.choices, default=SubscriptionState.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=64, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Spotler's own words for the last failure.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "not_before"], name="subscription_due_idx")]

    def __str__(self) -> str:
        return f"subscription {self.pk} to {self.form_id}"


class LookupPage(models.Model):
    """A public page where a visitor enters a code (a Spotler property, e.g. a discount code)
    and, when Spotler holds a contact with it, sees a page prefilled with the configured
    properties only."""

    slug = models.SlugField(
        max_length=50, unique=True, help_text="The page's address: /lookup/<slug>/."
    )
    title = models.CharField(max_length=200, default="Your personal offer")
    # The Spotler property searched for the visitor's input, e.g. "discountCode".
    search_property = models.CharField(
        max_length=100,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]{1,100}$", "A Spotler property name.")],
    )
    input_label = models.CharField(max_length=200, default="Your code")
    # The properties shown (or prefilled) on a match, in order: [{"property": "firstName",
    # "label": "First name", "prefill": true}]; nothing else of the contact is ever shown.
    shown_properties = models.JSONField(default=list, blank=True)
    found_text = models.TextField(default="Welcome back! Check your details below.")
    not_found_text = models.TextField(default="This code is not valid.")
    language = models.CharField(max_length=35, default="en")
    enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug
