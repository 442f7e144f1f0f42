"""The reconciliation's pages: started from the Syncs page, its run page says what it found
(or that it is clean) in figures a test checks, and its findings page offers the fixes."""

import re

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from identity.models import DriftFinding, FindingState
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger, UnknownContact
from tests.identity.reconcile_helpers import lost_in_the_outbox, pushed, reconcile

START = reverse("sync:run-start")


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str, testid: str) -> str:
    """The text inside the element with this data-testid, tags and spacing collapsed."""
    found = re.search(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no {testid} on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def kind_row(html: str, kind: str) -> list[str]:
    row = re.search(rf'<tr data-kind="{kind}">(.*?)</tr>', html, re.S).group(1)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]  # fmt: skip


def test_an_admin_starts_a_reconciliation_of_every_contact_or_a_sample(admin):
    html = page(admin, reverse("sync:run-list"))
    assert 'data-testid="start-reconcile"' in html
    response = admin.post(START, {"action": "reconcile", "reconcile-sample": ""})
    run = SyncRun.objects.get()
    assert response["Location"] == reverse("sync:run-detail", args=[run.pk])
    assert (run.kind, run.trigger, run.filters, run.requested_by.username) == (
        SyncRunKind.RECONCILE, SyncRunTrigger.DASHBOARD, {}, "admin"
    )  # fmt: skip
    admin.post(START, {"action": "reconcile", "reconcile-sample": "25"})
    sampled = SyncRun.objects.latest("id")
    assert sampled.filters == {"sample": 25}
    detail = page(admin, reverse("sync:run-detail", args=[sampled.pk]))
    assert "a random sample of 25 contacts Spotler should hold" in detail
    audited = AuditEntry.objects.filter(object_type="sync run", action="started").count()
    assert audited == 2


@pytest.mark.parametrize(
    ("sample", "says"),
    [("0", "Ensure this value is greater than or equal to 1."), ("some", "Enter a whole number.")],
)
def test_a_sample_that_is_no_number_of_contacts_is_shown_again(admin, sample, says):
    response = admin.post(START, {"action": "reconcile", "reconcile-sample": sample})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not SyncRun.objects.exists()


def test_a_marketer_reads_the_findings_but_is_offered_no_start_and_no_fix(client_as, sandbox):
    pushed(1)
    lost_in_the_outbox("C-3")
    run = reconcile()
    client = client_as("marketer")
    assert 'data-testid="start-reconcile"' not in page(client, reverse("sync:run-list"))
    detail = page(client, reverse("sync:run-detail", args=[run.pk]))
    assert kind_row(detail, "missing")[:2] == ["Missing in Spotler", "1"]
    assert "push-missing-form" not in detail
    findings = page(client, reverse("sync:finding-list", args=[run.pk]))
    assert 'data-external-id="C-3"' in findings
    assert "fix-form" not in findings
    found = DriftFinding.objects.get()
    fix = client.post(reverse("sync:finding-fix", args=[found.pk]), {"fix": "push"})
    assert fix.status_code == 403
    assert DriftFinding.objects.get().state == FindingState.OPEN


def test_a_clean_run_says_so_with_the_number_compared(admin, sandbox):
    pushed(4)
    run = reconcile()
    html = page(admin, reverse("sync:run-detail", args=[run.pk]))
    assert text_of(html, "reconcile-clean") == (
        "Spotler holds every contact as the ledger does: 4 compared."
    )
    assert text_of(html, "run-counts") == "4 in step · 0 differ · 0 skipped"
    assert text_of(html, "run-done") == "4 of 4"
    assert 'data-testid="run-percent">100%' in html
    assert "reconcile-kinds" not in html


def test_the_run_page_counts_the_findings_by_kind_and_state(admin, sandbox):
    pushed(5)
    for n in (7, 8):
        lost_in_the_outbox(f"C-{n}")
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    sandbox.control("POST", "contacts/C-2/unsubscribe", {"bit": 1})
    sandbox.control("POST", "contacts/C-3/unsubscribe", {"bit": 1})
    UnknownContact.objects.create(external_id="X-1", source=SyncRunKind.PULL_UPDATES)
    run = reconcile()
    DriftFinding.objects.filter(external_id="C-3").update(state=FindingState.IGNORED)
    html = page(admin, reverse("sync:run-detail", args=[run.pk]))
    assert text_of(html, "run-counts") == "2 in step · 5 differ · 0 skipped"
    assert text_of(html, "run-done") == "7 of 7"
    assert text_of(html, "reconcile-found") == "6 findings, 5 still open."
    # Drift, found, open, pushed again, pulled, ignored.
    assert kind_row(html, "missing")[:6] == ["Missing in Spotler", "2", "2", "0", "0", "0"]
    assert kind_row(html, "fields")[:6] == ["Mapped fields differ", "1", "1", "0", "0", "0"]
    assert kind_row(html, "consent")[:6] == ["Consent differs", "2", "1", "0", "0", "1"]
    assert kind_row(html, "unknown")[:6] == ["Unknown to the ledger", "1", "1", "0", "0", "0"]
    assert "Push all 2 missing contacts again" in html
    assert "5 differ: Spotler&#x27;s copy is missing or differs" in html
    assert "reconcile-clean" not in html


def test_the_findings_page_shows_both_values_and_the_suggested_fix_first(admin, sandbox):
    pushed(3)
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "<b>Ann</b>"}})
    lost_in_the_outbox("C-2", newsletter=False)
    run = reconcile()
    html = page(admin, reverse("sync:finding-list", args=[run.pk]))
    row = html.split('data-external-id="C-1"')[1].split("</tr>")[0]
    assert "<strong>firstName</strong>: ledger <q" in row
    assert "Anna 1</q>" in row and "&lt;b&gt;Ann&lt;/b&gt;</q>" in row
    assert "<b>Ann</b>" not in html
    buttons = re.findall(r'value="(push|pull|ignore)" class="small( secondary outline)?"', row)
    outline = " secondary outline"
    assert buttons == [("push", outline), ("pull", ""), ("ignore", outline)]
    consent = html.split('data-external-id="C-2"')[1].split("</tr>")[0]
    assert "<strong>permission 1 (newsletter)</strong>: ledger <q" in consent
    assert ">off</q>" in consent and ">on</q>" in consent
    assert 'value="push" class="small"' in consent


def test_a_fix_from_the_findings_page_goes_back_to_the_same_filter(admin, sandbox):
    pushed(1)
    lost_in_the_outbox("C-4")
    run = reconcile()
    found = DriftFinding.objects.get()
    data = {"fix": "ignore", "kind": "missing", "state": "open", "page": "1"}
    response = admin.post(reverse("sync:finding-fix", args=[found.pk]), data)
    assert response.status_code == 302
    url = reverse("sync:finding-list", args=[run.pk])
    assert response["Location"] == f"{url}?state=open&kind=missing&page=1"
    after = page(admin, response["Location"])
    assert "C-4: ignored; later runs do not ask again." in after
    assert "No open finding of this kind." in after
    assert DriftFinding.objects.get().state == FindingState.IGNORED
    again = admin.post(reverse("sync:finding-fix", args=[found.pk]), data, follow=True)
    assert "C-4: This finding was already dealt with (ignored by admin)." in again.content.decode()


def test_push_all_missing_from_the_run_page_goes_back_to_it(admin, sandbox):
    pushed(1)
    lost_in_the_outbox("C-4")
    lost_in_the_outbox("C-5")
    run = reconcile()
    response = admin.post(
        reverse("sync:finding-push-missing", args=[run.pk]), {"back": "run"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("sync:run-detail", args=[run.pk])
    html = response.content.decode()
    assert "2 missing contact(s) queued" in html
    assert kind_row(html, "missing")[:4] == ["Missing in Spotler", "2", "0", "2"]


def test_an_unknown_fix_is_a_bad_request_and_changes_nothing(admin, sandbox):
    pushed(1)
    lost_in_the_outbox("C-4")
    reconcile()
    found = DriftFinding.objects.get()
    response = admin.post(reverse("sync:finding-fix", args=[found.pk]), {"fix": "delete"})
    assert response.status_code == 400
    assert DriftFinding.objects.get().state == FindingState.OPEN


def test_findings_exist_only_for_a_reconciliation(admin):
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.LIVE, status=SyncRunStatus.SUCCEEDED
    )
    assert admin.get(reverse("sync:finding-list", args=[run.pk])).status_code == 404
    response = admin.post(reverse("sync:finding-push-missing", args=[run.pk]))
    assert response.status_code == 404
