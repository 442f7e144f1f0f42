"""What a reconciliation's pages show of its findings: the counts per kind and state, and each
finding with its differences in words and the fixes it offers."""

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, When
from django.utils import dateformat, timezone

from identity.drift import PULL, PUSH
from identity.models import DriftFinding, DriftKind, FindingState
from mapping.versions import current_version
from sync.models import SyncRun, SyncRunStatus
from sync.pull import back_rows

PER_PAGE = 50
IGNORE = "ignore"
# Which fixes each kind of finding may offer (a pull only where the mapping brings a value back).
FIXES = {
    DriftKind.MISSING: (PUSH, IGNORE),
    DriftKind.FIELDS: (PUSH, PULL, IGNORE),
    DriftKind.CONSENT: (PUSH, PULL, IGNORE),
    DriftKind.UNKNOWN: (IGNORE,),
}
# The page's state filter: the findings still waiting for someone, those dealt with, or all.
STATE_FILTERS = {
    "open": ("Open", [FindingState.OPEN]),
    "done": ("Dealt with", [FindingState.PUSHED, FindingState.PULLED, FindingState.IGNORED]),
    "all": ("All", list(FindingState.values)),
}


@dataclass(frozen=True)
class KindCount:
    kind: str
    label: str
    found: int
    open: int
    pushed: int
    pulled: int
    ignored: int


@dataclass(frozen=True)
class Summary:
    kinds: list[KindCount]
    found: int
    open: int
    # The run went through and Spotler holds every contact it compared as the ledger does.
    clean: bool

    @property
    def missing_open(self) -> int:
        return next((k.open for k in self.kinds if k.kind == DriftKind.MISSING), 0)


def summarize(run: SyncRun) -> Summary:
    """The run's findings counted by kind and state, every kind listed (0 when none)."""
    counts: dict[str, dict[str, int]] = {}
    for row in DriftFinding.objects.filter(run=run).values("kind", "state").annotate(n=Count("id")):
        counts.setdefault(row["kind"], {})[row["state"]] = row["n"]
    kinds = []
    for kind in DriftKind:
        by_state = counts.get(kind, {})
        kinds.append(
            KindCount(
                kind=kind, label=kind.label, found=sum(by_state.values()),
                open=by_state.get(FindingState.OPEN, 0),
                pushed=by_state.get(FindingState.PUSHED, 0),
                pulled=by_state.get(FindingState.PULLED, 0),
                ignored=by_state.get(FindingState.IGNORED, 0),
            )
        )  # fmt: skip
    found = sum(k.found for k in kinds)
    clean = run.status == SyncRunStatus.SUCCEEDED and found == 0
    return Summary(kinds=kinds, found=found, open=sum(k.open for k in kinds), clean=clean)


@dataclass(frozen=True)
class Line:
    """One difference: the field (or permission) and both values, in words."""

    what: str
    ledger: str
    spotler: str
    fix: str
    why: str


@dataclass(frozen=True)
class FindingRow:
    finding: DriftFinding
    lines: list[Line]
    offers: list[str]  # the fixes offered, in FIXES order
    suggested: str  # the fix every line suggests ('' when they disagree)
    note: str  # for an id only Spotler knows: where it was seen


def findings_page(run: SyncRun, *, kind: str, state: str, page: str | None) -> Page:
    """One page of the run's findings of `kind` ('' for every kind) in the `state` filter,
    each as a FindingRow: missing first, then fields, consent and unknown ids, each by id."""
    findings = DriftFinding.objects.filter(run=run, state__in=STATE_FILTERS[state][1])
    if kind:
        findings = findings.filter(kind=kind)
    in_kind_order = Case(*(When(kind=k, then=n) for n, k in enumerate(DriftKind)))
    findings = findings.select_related("contact", "resolved_by").order_by(
        in_kind_order, "external_id", "pk"
    )
    paged = Paginator(findings, PER_PAGE).get_page(page)
    rows = back_rows(current_version().rows)
    pullable = {
        "properties": {r.spotler_property for r in rows if r.bit is None},
        "bits": {r.bit for r in rows if r.bit is not None},
    }
    sources = {r.bit: r.source_fields[0] for r in rows if r.bit is not None}
    paged.object_list = [
        finding_row(f, pullable=pullable, sources=sources) for f in paged.object_list
    ]
    return paged


def finding_row(finding: DriftFinding, *, pullable: dict, sources: dict[int, str]) -> FindingRow:
    if finding.kind == DriftKind.UNKNOWN:
        return FindingRow(finding, [], list(FIXES[finding.kind]), "", _seen(finding.details))
    lines = [_line(d, sources=sources) for d in finding.details]
    can_pull = any(
        d["bit"] in pullable["bits"] if "bit" in d else d["field"] in pullable["properties"]
        for d in finding.details
    )
    offers = [f for f in FIXES[finding.kind] if f != PULL or can_pull]
    fixes = {line.fix for line in lines} or {PUSH}
    suggested = fixes.pop() if len(fixes) == 1 else ""
    return FindingRow(finding, lines, offers, suggested if suggested in offers else "", "")


def _line(detail: dict, *, sources: dict[int, str]) -> Line:
    if "bit" in detail:
        bit = detail["bit"]
        source = sources.get(bit)
        what = f"permission {bit}" + (f" ({source})" if source else "")
        ledger, spotler = _on_off(detail["ledger"]), _on_off(detail["spotler"])
    else:
        what, ledger, spotler = detail["field"], _text(detail["ledger"]), _text(detail["spotler"])
    return Line(what, ledger, spotler, detail.get("fix", ""), detail.get("why", ""))


def _seen(details: list[dict]) -> str:
    if not details:
        return ""
    seen = details[0]
    last = datetime.fromisoformat(seen["last_seen_at"])
    when = dateformat.format(timezone.localtime(last), "j M Y H:i")
    times = seen.get("times_seen", 1)
    return (
        f"Reported by the {str(seen.get('source', 'pull')).lower()}, {times} "
        f"time{'s' if times != 1 else ''}, last on {when}."
    )


def _on_off(value: object) -> str:
    return "on" if value else "off"


def _text(value: object) -> str:
    return "(empty)" if value in (None, "") else str(value)
