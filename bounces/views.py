from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from bounces import inbox, notify, work
from bounces.figures import chart_bars, inbox_figures
from bounces.forms import (
    CorrectEmailForm,
    InboxFilterForm,
    NotificationForm,
    ReasonForm,
    ReplacementForm,
)
from bounces.models import FollowUp, NotificationPreference, NotifyChoice, Resolution
from bounces.owners import display_name, match_rule, possible_owners
from spotlersync.roles import is_admin, role_required

ORDERS_SHOWN = 20


@role_required("work_bounces")
def followup_list(request: HttpRequest) -> HttpResponse:
    admin = is_admin(request.user)
    form = InboxFilterForm(request.GET)
    filters = form.filters(may_filter_owner=admin)
    figures = inbox_figures(user=request.user)
    listing = inbox.browse_followups(
        user=request.user, filters=filters, page=form.page_number(), per_page=inbox.PAGE_SIZE
    )
    context = {
        "form": form,
        "filters": filters,
        "listing": listing,
        "figures": figures,
        "bars": chart_bars(figures),
        "is_admin": admin,
        "owners": possible_owners() if admin else [],
        "state_choices": inbox.STATE_CHOICES,
        "match_rule": match_rule(),
        "service_level_days": settings.BOUNCES_SERVICE_LEVEL_DAYS,
    }
    return render(request, "bounces/followup_list.html", context)


@role_required("work_bounces")
def followup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _find(request, pk))


@require_POST
@role_required("work_bounces")
def followup_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    followup = _find(request, pk)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(action)
    try:
        message = handler(request, followup)
    except work.FollowUpProblem as problem:
        return _render_detail(request, followup, problem=problem, action=action, status=400)
    messages.success(request, message)
    return redirect("bounces:followup-detail", pk=followup.pk)


@require_POST
@role_required("work_bounces")
def followup_bulk(request: HttpRequest) -> HttpResponse:
    """An Admin acts on many follow-ups at once: assign them, or dismiss them with a reason."""
    if not is_admin(request.user):
        raise PermissionDenied("bulk actions")
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    chosen = list(FollowUp.objects.filter(pk__in=ids).order_by("pk"))
    back = _back_to_inbox(request)
    if not chosen:
        messages.error(request, "Tick at least one follow-up first.")
        return redirect(back)
    try:
        if request.POST.get("action") == "assign":
            owner = _owner_from(request.POST.get("owner", ""))
            done = work.assign(chosen, owner=owner, by=request.user)
            finished = sum(1 for f in chosen if f.is_done)
            kept = f" {finished} done follow-up(s) keep their owner." if finished else ""
            messages.success(
                request, f"Assigned {done} follow-up(s) to {display_name(owner)}.{kept}"
            )
        elif request.POST.get("action") == "dismiss":
            done = work.dismiss(chosen, by=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, f"Dismissed {done} follow-up(s).")
        else:
            messages.error(request, "Choose what to do with the ticked follow-ups.")
    except work.FollowUpProblem as problem:
        messages.error(request, f"Nothing was changed: {problem}")
    return redirect(back)


@role_required("work_bounces")
def notification_settings(request: HttpRequest) -> HttpResponse:
    pref = NotificationPreference.objects.filter(user=request.user).first()
    initial = {"choice": pref.choice if pref else NotifyChoice.NONE}
    form = NotificationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        notify.save_choice(user=request.user, choice=form.cleaned_data["choice"])
        messages.success(request, "Saved how you hear about new follow-ups.")
        return redirect("bounces:notifications")
    context = {"form": form, "has_email": bool(request.user.email)}
    return render(request, "bounces/notification_settings.html", context)


def _start(request: HttpRequest, followup: FollowUp) -> str:
    work.start(followup, by=request.user)
    return "Marked as in progress."


def _note(request: HttpRequest, followup: FollowUp) -> str:
    work.add_note(followup, by=request.user, text=request.POST.get("text", ""))
    return "Note added."


def _assign(request: HttpRequest, followup: FollowUp) -> str:
    if not is_admin(request.user):
        raise PermissionDenied("assign")
    owner = _owner_from(request.POST.get("owner", ""))
    work.assign([followup], owner=owner, by=request.user)
    return f"Assigned to {display_name(owner)}."


def _correct(request: HttpRequest, followup: FollowUp) -> str:
    form = _checked(CorrectEmailForm(request.POST))
    email = form.cleaned_data.get("email", "")
    work.correct_email(followup, by=request.user, email=email)
    return f"{email} is on its way to Spotler; the follow-up closes itself once Spotler accepts it."


def _replacement(request: HttpRequest, followup: FollowUp) -> str:
    replacement, employer = _checked(ReplacementForm(request.POST)).leads()
    work.record_replacement(
        followup, by=request.user, replacement=replacement, new_employer=employer
    )
    return "Done: the replacement is on the changes feed as a lead for the linked system."


def _left(request: HttpRequest, followup: FollowUp) -> str:
    work.record_left(followup, by=request.user, note=request.POST.get("note", ""))
    return f"Done: {Resolution.LEFT_NO_REPLACEMENT.label.lower()}."


def _inactive(request: HttpRequest, followup: FollowUp) -> str:
    work.make_inactive(followup, by=request.user)
    return "Done: the contact is being blacklisted in Spotler."


def _dismiss(request: HttpRequest, followup: FollowUp) -> str:
    form = _checked(ReasonForm(request.POST))
    work.dismiss([followup], by=request.user, reason=form.cleaned_data.get("reason", ""))
    return "Dismissed."


ACTIONS = {
    "start": _start,
    "note": _note,
    "assign": _assign,
    "correct": _correct,
    "replacement": _replacement,
    "left": _left,
    "inactive": _inactive,
    "dismiss": _dismiss,
}


def _checked(form):
    """`form`, valid; else a problem naming each field at fault (a value too long is refused
    with its limit, never dropped)."""
    if not form.is_valid():
        fields = {name: " ".join(errors) for name, errors in form.errors.items()}
        raise work.FollowUpProblem("Check the form: " + " ".join(fields.values()), fields=fields)
    return form


def _find(request: HttpRequest, pk: int) -> FollowUp:
    followup = inbox.find_followup(user=request.user, pk=pk)
    if followup is None:
        raise Http404("No such follow-up, or another owner's.")
    return followup


def _render_detail(
    request: HttpRequest, followup: FollowUp, *, problem=None, action: str = "", status: int = 200
) -> HttpResponse:
    admin = is_admin(request.user)
    contact = followup.contact
    context = {
        "followup": followup,
        "contact": contact,
        "bounces": list(followup.bounces.order_by("-bounced_at", "-id")),
        "orders": list(contact.orders.order_by("-ordered_at", "-pk")[:ORDERS_SHOWN]),
        "steps": list(followup.steps.select_related("by")),
        "is_admin": admin,
        "owners": possible_owners() if admin else [],
        "match_rule": match_rule(),
        "problem": problem,
        "field_errors": problem.fields if problem else {},
        "action": action,
        "posted": request.POST if problem else {},
        "overdue": followup.is_overdue(),
    }
    return render(request, "bounces/followup_detail.html", context, status=status)


def _owner_from(value: str) -> User:
    owner = User.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if owner is None:
        raise work.FollowUpProblem(
            "Choose who gets the follow-up.", fields={"owner": "Choose someone."}
        )
    return owner


def _back_to_inbox(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("bounces:followup-list")
