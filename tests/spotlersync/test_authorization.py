"""Every URL by {anonymous, no role, each role}: who may open what.

Adding a URL without adding it to ACCESS fails `test_every_url_is_in_the_access_table`.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

LOGIN = "login"  # anonymous users are sent to the login page
OK = 200
DENIED = 403
NO_TOKEN = 401  # the ingest API wants a bearer token; a dashboard login does not open it
READY_OR_NOT = (200, 503)  # /readyz: no login needed, the answer says whether the site is ready
ROLES = ("anonymous", "norole", "marketer", "accountmanager", "admin")


def row(anonymous, norole, marketer, accountmanager, admin) -> dict:
    return dict(zip(ROLES, (anonymous, norole, marketer, accountmanager, admin), strict=True))


# url name -> (method, expected result per persona)
ACCESS = {
    "home": ("get", row(LOGIN, DENIED, OK, OK, OK)),
    "queue-summary": ("get", row(LOGIN, DENIED, OK, OK, OK)),
    "queue-detail": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "login": ("get", row(OK, 302, 302, 302, 302)),
    "logout": ("post", row(302, 302, 302, 302, 302)),
    "password_change": ("get", row(LOGIN, OK, OK, OK, OK)),
    "password_change_done": ("get", row(LOGIN, OK, OK, OK, OK)),
    # The Django admin: a sample of its pages stands for the rest (one site, one check).
    "admin:index": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:auth_user_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:django_q_schedule_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:contacts_contact_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:sync_outboxentry_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:sync_syncrun_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:sync_syncevent_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "admin:sync_unknowncontact_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    "contacts:token-list": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "audit:entry-list": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "contacts:token-create": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    # No token 1 exists: the Admin gets past the role check to the lookup.
    "contacts:token-revoke": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "contacts:contact-list": ("get", row(LOGIN, DENIED, OK, OK, OK)),
    # No contact C1 exists: every role gets past the role check to the lookup.
    "contacts:contact-detail": ("get", row(LOGIN, DENIED, 404, 404, 404)),
    "contacts:import-upload": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    # No import 1 exists: the Admin gets past the role check to the lookup.
    "contacts:import-detail": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "contacts:import-map": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "contacts:import-progress": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "contacts:import-errors": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "mapping:mapping-edit": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    "mapping:mapping-rows": ("post", row(LOGIN, DENIED, OK, DENIED, OK)),
    "mapping:mapping-preview": ("post", row(LOGIN, DENIED, OK, DENIED, OK)),
    "mapping:preview-matches": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    # No version 99 exists: allowed roles get past the role check to the lookup.
    "mapping:mapping-restore": ("post", row(LOGIN, DENIED, 404, DENIED, 404)),
    "mapping:push-affected": ("post", row(LOGIN, DENIED, 404, DENIED, 404)),
    "mapping:catalogue-refresh": ("post", row(LOGIN, DENIED, 302, DENIED, 302)),
    "sync:health": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    # No contact C1 exists: the Admin gets past the role check to the lookup.
    "sync:contact-push": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "sync:contact-dismiss": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "sync:contact-release": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    # Runs: Marketers read them; only an Admin starts one (a Marketer starts just the push of
    # a mapping change, from the mapping page) or cancels one (a Marketer just that push:
    # tests/mapping/test_push_offer.py).
    "sync:run-list": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    # An empty POST names no kind of sync: the Admin gets past the role check to a 400.
    "sync:run-start": ("post", row(LOGIN, DENIED, DENIED, DENIED, 400)),
    # No run 1 exists: allowed roles get past the role check to the lookup.
    "sync:run-detail": ("get", row(LOGIN, DENIED, 404, DENIED, 404)),
    "sync:run-progress": ("get", row(LOGIN, DENIED, 404, DENIED, 404)),
    "sync:run-cancel": ("post", row(LOGIN, DENIED, 404, DENIED, 404)),
    # A reconciliation's findings: read by whoever reads runs, fixed only by an Admin; no run or
    # finding 1 exists, so the allowed roles get past the role check to the lookup.
    "sync:finding-list": ("get", row(LOGIN, DENIED, 404, DENIED, 404)),
    "sync:finding-fix": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "sync:finding-push-missing": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    # The bounce inbox: Account managers and Admins; no follow-up 1 exists, so they get past
    # the role check to the lookup (an Account manager's lookup covers only their own).
    "bounces:followup-list": ("get", row(LOGIN, DENIED, DENIED, OK, OK)),
    "bounces:notifications": ("get", row(LOGIN, DENIED, DENIED, OK, OK)),
    "bounces:followup-detail": ("get", row(LOGIN, DENIED, DENIED, 404, 404)),
    "bounces:followup-act": ("post", row(LOGIN, DENIED, DENIED, 404, 404)),
    # Only an Admin acts on many at once; with none ticked, back to the inbox.
    "bounces:followup-bulk": ("post", row(LOGIN, DENIED, DENIED, DENIED, 302)),
    "admin:bounces_followup_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    # Temporary lists: Marketers and Admins; no list 1 exists, so they get past the role check
    # to the lookup. A delete naming no list goes back to the lists page.
    "lists:list-list": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    "lists:list-new": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    "lists:list-delete": ("post", row(LOGIN, DENIED, 302, DENIED, 302)),
    "lists:list-upload": ("post", row(LOGIN, DENIED, 302, DENIED, 302)),
    "lists:list-detail": ("get", row(LOGIN, DENIED, 404, DENIED, 404)),
    "lists:list-progress": ("get", row(LOGIN, DENIED, 404, DENIED, 404)),
    "lists:list-resume": ("post", row(LOGIN, DENIED, 404, DENIED, 404)),
    "lists:list-refresh": ("post", row(LOGIN, DENIED, 404, DENIED, 404)),
    "admin:lists_templist_changelist": ("get", row(LOGIN, LOGIN, LOGIN, LOGIN, OK)),
    # Lookup pages: Admins configure them; no page 1 exists, so an Admin gets past the role
    # check to the lookup. The public page is open to all; no page "offer" exists: 404.
    "public:lookup-page-list": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "public:lookup-page-create": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "public:lookup-page-edit": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "public:lookup-page": ("get", row(404, 404, 404, 404, 404)),
    # Searching Spotler itself: Marketers and Admins (no conditions given: no call to Spotler).
    "public:search-spotler": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    # Subscribe forms: the public page and endpoint are open to anyone (the newsletter form is
    # switched off, so 404 for all); only an Admin configures forms (no form 99 exists).
    "public:subscribe-page": ("get", row(404, 404, 404, 404, 404)),
    "public:subscribe-json": ("post", row(404, 404, 404, 404, 404)),
    "public:subscribe-form-list": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "public:subscribe-form-new": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "public:subscribe-form-detail": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "public:subscribe-form-edit": ("get", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    "public:subscription-retry": ("post", row(LOGIN, DENIED, DENIED, DENIED, 404)),
    # The Spotler connection: Admins only. A test (whatever Spotler answers) goes back to the
    # page.
    "identity:connection-edit": ("get", row(LOGIN, DENIED, DENIED, DENIED, OK)),
    "identity:connection-check": ("post", row(LOGIN, DENIED, DENIED, DENIED, 302)),
    # The duplicates report: Marketers and Admins. Handing its households to the list builder
    # wants the lists' permission too; with no households, back to the report.
    "identity:duplicate-list": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    "identity:duplicate-export": ("get", row(LOGIN, DENIED, OK, DENIED, OK)),
    "identity:duplicate-households-list": ("post", row(LOGIN, DENIED, 302, DENIED, 302)),
    "api:api-root": ("get", row(404, 404, 404, 404, 404)),
    # Also opened by an API token of either scope (tests/contacts/test_api_docs.py).
    "api:openapi-json": ("get", row(LOGIN, DENIED, OK, OK, OK)),
    "api:openapi-view": ("get", row(LOGIN, DENIED, OK, OK, OK)),
    "api:contact": ("get", row(*[NO_TOKEN] * 5)),
    "api:contact-inactivate": ("post", row(*[NO_TOKEN] * 5)),
    "api:batch": ("post", row(*[NO_TOKEN] * 5)),
    "api:orders": ("post", row(*[NO_TOKEN] * 5)),
    "api:changes": ("get", row(*[NO_TOKEN] * 5)),
    "api:lists": ("get", row(*[NO_TOKEN] * 5)),
    "api:list": ("get", row(*[NO_TOKEN] * 5)),
    "api:list-refresh": ("post", row(*[NO_TOKEN] * 5)),
    # Probes: open to anyone, login or not (tests/spotlersync/test_probes.py); /readyz is 200
    # or 503 by what answers, so only /healthz's answer is fixed.
    "healthz": ("get", row(*[OK] * 5)),
    "readyz": ("get", row(*[READY_OR_NOT] * 5)),
    # Metrics want a bearer token of the metrics scope; a dashboard login does not open them
    # (tests/spotlersync/test_metrics.py).
    "metrics": ("get", row(*[NO_TOKEN] * 5)),
}

# Arguments for the URLs that need them.
URL_KWARGS = {
    "sync:contact-push": {"external_id": "C1"},
    "sync:contact-dismiss": {"external_id": "C1"},
    "sync:contact-release": {"external_id": "C1"},
    "sync:run-detail": {"pk": 1},
    "lists:list-detail": {"pk": 1},
    "lists:list-progress": {"pk": 1},
    "lists:list-resume": {"pk": 1},
    "lists:list-refresh": {"pk": 1},
    "sync:run-progress": {"pk": 1},
    "sync:run-cancel": {"pk": 1},
    "sync:finding-list": {"pk": 1},
    "sync:finding-fix": {"pk": 1},
    "sync:finding-push-missing": {"pk": 1},
    "mapping:mapping-restore": {"number": 99},
    "mapping:push-affected": {"number": 99},
    "contacts:token-revoke": {"pk": 1},
    "contacts:contact-detail": {"external_id": "C1"},
    "contacts:import-detail": {"pk": 1},
    "contacts:import-map": {"pk": 1},
    "contacts:import-progress": {"pk": 1},
    "contacts:import-errors": {"pk": 1},
    "api:contact": {"external_id": "C1"},
    "bounces:followup-detail": {"pk": 1},
    "bounces:followup-act": {"pk": 1, "action": "start"},
    "api:contact-inactivate": {"external_id": "C1"},
    "api:list": {"list_id": "spotlersync-0123456789ab"},
    "api:list-refresh": {"list_id": "spotlersync-0123456789ab"},
    "public:lookup-page-edit": {"pk": 1},
    "public:lookup-page": {"slug": "offer"},
    "public:subscribe-page": {"slug": "newsletter"},
    "public:subscribe-json": {"slug": "newsletter"},
    "public:subscribe-form-detail": {"pk": 99},
    "public:subscribe-form-edit": {"pk": 99},
    "public:subscription-retry": {"pk": 1},
}


def url_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_url_is_in_the_access_table():
    ours = {n for n in url_names(get_resolver().url_patterns) if not n.startswith("admin:")}
    missing = ours - set(ACCESS)
    assert not missing, f"URLs without an access rule in ACCESS: {sorted(missing)}"


@pytest.mark.parametrize("persona", ROLES)
@pytest.mark.parametrize("url_name", sorted(ACCESS))
def test_each_url_answers_each_persona_as_its_role_allows(client_as, url_name, persona):
    method, expected = ACCESS[url_name]
    client = client_as(persona)
    url = reverse(url_name, kwargs=URL_KWARGS.get(url_name))
    response = getattr(client, method)(url)
    want = expected[persona]
    if want == LOGIN:
        assert response.status_code == 302
        login = reverse("admin:login") if url_name.startswith("admin:") else reverse("login")
        assert response["Location"].startswith(f"{login}?next=")
    elif isinstance(want, tuple):
        assert response.status_code in want
    else:
        assert response.status_code == want


def test_a_user_without_the_role_gets_a_page_that_says_what_to_do(client_as):
    response = client_as("marketer").get(reverse("queue-detail"))
    assert response.status_code == 403
    text = response.content.decode()
    assert "This page is not for your role" in text
    assert "Marketer" in text
    assert "ask an Admin" in text


def test_a_user_with_no_role_is_told_so(client_as):
    response = client_as("norole").get(reverse("home"))
    assert response.status_code == 403
    assert "your account has no role yet" in response.content.decode()


def test_logging_out_needs_a_post_so_a_link_cannot_log_you_out(client_as):
    client = client_as("marketer")
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200
