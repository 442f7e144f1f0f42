"""The Admins' pages for subscribe forms: list, create, edit, and each form's page with its
embeddable snippets, its subscriptions per day and the ones still queued or refused."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit import trail
from public import subscribe
from public.models import SubscribeForm, Subscription, SubscriptionState
from public.subscribe_admin_forms import SubscribeFormForm
from public.subscribe_counts import daily_counts
from public.subscribe_fields import asked_fields
from public.subscribe_snippets import fetch_snippet, frame_snippet, html_snippet
from spotlersync.roles import role_required

SHOWN_WAITING = 100  # queued and refused subscriptions listed on a form's page


@role_required("manage_public_pages")
def form_list(request: HttpRequest) -> HttpResponse:
    forms = SubscribeForm.objects.annotate(
        queued=Count("subscriptions", filter=Q(subscriptions__state=SubscriptionState.QUEUED)),
        failed=Count("subscriptions", filter=Q(subscriptions__state=SubscriptionState.FAILED)),
        sent=Count("subscriptions", filter=Q(subscriptions__state=SubscriptionState.SENT)),
    )
    return render(request, "public/subscribe_form_list.html", {"forms": forms})


@role_required("manage_public_pages")
def form_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, SubscribeForm(permission_bits=[1]))


@role_required("manage_public_pages")
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(SubscribeForm, pk=pk))


def _edit(request: HttpRequest, instance: SubscribeForm) -> HttpResponse:
    form = SubscribeFormForm(request.POST or None, instance=instance)
    before = trail.snapshot(instance) if instance.pk else {}
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        trail.record(
            actor=request.user, action="changed" if before else "created",
            object_type="subscribe form", obj=saved, object_label=saved.slug,
            before=before, after=trail.snapshot(saved),
        )  # fmt: skip
        state = "on" if saved.enabled else "off"
        messages.success(request, f"The form “{saved.slug}” is saved; it is switched {state}.")
        return redirect("public:subscribe-form-detail", pk=saved.pk)
    return render(request, "public/subscribe_form_edit.html", {"form": form, "item": instance})


@role_required("manage_public_pages")
def form_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(SubscribeForm, pk=pk)
    page_url = request.build_absolute_uri(reverse("public:subscribe-page", args=[item.slug]))
    json_url = request.build_absolute_uri(reverse("public:subscribe-json", args=[item.slug]))
    fields = asked_fields(item)
    waiting = item.subscriptions.exclude(state=SubscriptionState.SENT).order_by("-pk")
    context = {
        "item": item,
        "fields": fields,
        "page_url": page_url,
        "json_url": json_url,
        "html_snippet": html_snippet(page_url=page_url, title=item.title, fields=fields),
        "frame_snippet": frame_snippet(page_url=page_url, title=item.title),
        "fetch_snippet": fetch_snippet(json_url=json_url, fields=fields),
        "counts": daily_counts(form=item),
        "waiting": waiting[:SHOWN_WAITING],
        "waiting_total": waiting.count(),
        "sent_total": item.subscriptions.filter(state=SubscriptionState.SENT).count(),
    }
    return render(request, "public/subscribe_form_detail.html", context)


@require_POST
@role_required("manage_public_pages")
def subscription_retry(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    if subscribe.retry_subscription(subscription):
        messages.success(request, f"The subscription of {subscription.email} is queued again.")
    else:
        messages.info(request, f"The subscription of {subscription.email} was already sent.")
    return redirect("public:subscribe-form-detail", pk=subscription.form_id)
