"""The control surface as a page for people: play the recipient without curl.

`GET /_sandbox/page` lists the sandbox's contacts (searchable) and, for the chosen one, buttons
to switch a permission off or on (an unsubscribe), edit a profile field, or bounce a mail (hard
or soft); and a form to make temporary lists as another system. Each form posts to
`/_sandbox/page/<action>`, which calls the same control handler as the JSON call and answers
303 back to the page with what happened. Self-contained (no script, no stylesheet from the
internet), every value escaped; loopback only, like the JSON calls, and a form posted from
another site's page is refused.
"""

from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from spotler.sandbox import control
from spotler.sandbox.bounces import BOUNCE_TYPES
from spotler.sandbox.catalogue import PROPERTIES, SET_PROPERTIES
from spotler.sandbox.contacts import Contact
from spotler.sandbox.errors import ApiError
from spotler.sandbox.runtime import Sandbox
from spotler.sandbox.web import Request, Response

PAGE = f"{control.PREFIX}page"
SHOWN = 25  # contacts listed at once; the search finds the others
EDITABLE = [p for p in PROPERTIES if not p.is_set]


def wants_page(request: Request) -> bool:
    """A browser opening `/_sandbox/` (it asks for HTML first) is sent to the page; scripts,
    and `?format=json`, get the JSON list of calls."""
    if request.method != "GET" or "format=json" in request.query:
        return False
    return request.accept.split(",")[0].strip() == "text/html"


def is_page(request: Request) -> bool:
    return request.raw_path == PAGE or request.raw_path.startswith(f"{PAGE}/")


def redirect_to_page() -> Response:
    return Response(303, b"", [("Location", PAGE)])


def handle(sandbox: Sandbox, request: Request) -> Response:
    if not request.remote_addr.startswith(control.LOOPBACK_PREFIXES):
        return _html("<p>The control page answers loopback only.</p>", status=403)
    action = request.raw_path[len(PAGE) :].strip("/")
    if request.method == "GET" and not action:
        return _html(render(sandbox, dict(parse_qsl(request.query))))
    if request.method != "POST" or action not in ACTIONS:
        return _html("<p>Nothing here; <a href='/_sandbox/page'>the control page</a>.</p>", 404)
    if request.origin and urlsplit(request.origin).netloc != request.host:
        return _html("<p>A form from another site may not change the sandbox.</p>", status=403)
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    back = {"contact": form.get("ref", "")} if form.get("ref") else {}
    try:
        back["done"] = ACTIONS[action](sandbox, form)
    except ApiError as refusal:
        back["error"] = f"Refused ({refusal.error_type}): {refusal.message}"
    return Response(303, b"", [("Location", f"{PAGE}?{urlencode(back)}")])


def _unsubscribe(sandbox: Sandbox, form: dict[str, str]) -> str:
    return _permission(sandbox, form, enabled=False)


def _subscribe(sandbox: Sandbox, form: dict[str, str]) -> str:
    return _permission(sandbox, form, enabled=True)


def _permission(sandbox: Sandbox, form: dict[str, str], *, enabled: bool) -> str:
    name, bit = form.get("property", "permissions"), _number(form.get("bit"))
    body = {"property": name, "bit": bit}
    handler = control.resubscribe if enabled else control.unsubscribe
    handler(control.Order(sandbox, body, (form.get("ref", ""),)))
    entry = _entry_name(name, bit)
    if name == "permissions":
        switched = "switched on (subscribed again)" if enabled else "switched off (unsubscribed)"
    else:
        switched = "switched on" if enabled else "switched off"
    return f"{form.get('ref')}: {entry} {switched}; the next pull of updates reads it."


def _edit(sandbox: Sandbox, form: dict[str, str]) -> str:
    name, value = form.get("property", ""), form.get("value", "")
    body = {"properties": {name: value}}
    try:
        control.edit_contact(control.Order(sandbox, body, (form.get("ref", ""),)))
    except ApiError as refusal:
        described = next((p.description for p in EDITABLE if p.name == name), "unknown")
        refusal.message += f": {name} ({described}) cannot be {value!r}"
        raise
    shown = f"set to {value!r}" if value else "cleared"
    return f"{form.get('ref')}: {name} {shown}, as if the recipient edited their profile."


def _bounce(sandbox: Sandbox, form: dict[str, str]) -> str:
    kind = form.get("type", "")
    control.bounce(control.Order(sandbox, {"type": kind}, (form.get("ref", ""),)))
    words = "hard bounce" if kind == "HARDBOUNCE" else "soft bounce"
    return f"{form.get('ref')}: a {words} is recorded; the next bounce pull reads it."


def _lists_elsewhere(sandbox: Sandbox, form: dict[str, str]) -> str:
    owner = form.get("consumer_key", "").strip() or "other-system"
    body = {"consumer_key": owner, "count": _number(form.get("count"))}
    created = control.create_lists_elsewhere(control.Order(sandbox, body, ()))["created"]
    return f"{owner} made {len(created)} temporary list(s): {', '.join(created)}."


ACTIONS = {
    "unsubscribe": _unsubscribe,
    "subscribe": _subscribe,
    "edit": _edit,
    "bounce": _bounce,
    "lists": _lists_elsewhere,
}


def render(sandbox: Sandbox, query: dict[str, str]) -> str:
    search = query.get("q", "").strip()
    with sandbox.account.reading() as account:
        contacts = account.contacts.all()
        matching = [c for c in contacts if _matches(c, search)]
        chosen = (
            account.contacts.find_by_reference(query["contact"]) if query.get("contact") else None
        )
        lists, limit = len(account.templists), account.settings.templist_limit
        owners = sorted({t.owner for t in account.templists.all()})
        parts = [
            _notice(query),
            _chosen(chosen) if chosen else "",
            _contact_table(matching, search=search, total=len(contacts)),
            _lists_form(lists=lists, limit=limit, owners=owners),
        ]
    return "".join(parts)


def _notice(query: dict[str, str]) -> str:
    if query.get("error"):
        return f'<p class="error" role="alert">{escape(query["error"])}</p>'
    if query.get("done"):
        return f'<p class="done" role="status">{escape(query["done"])}</p>'
    return ""


def _chosen(contact: Contact) -> str:
    ref = _ref(contact)
    hidden = f'<input type="hidden" name="ref" value="{escape(ref)}">'
    rows = "".join(
        f"<tr><th>{escape(p.description)}</th><td>{escape(_shown(contact, p.name))}</td></tr>"
        for p in EDITABLE
        if contact.properties.get(p.name) not in (None, "")
    )
    consent = "".join(_permission_row(contact, p.name, e.bit, e.description, hidden)
                      for p in SET_PROPERTIES for e in p.entries)  # fmt: skip
    options = "".join(
        f'<option value="{escape(p.name)}">{escape(p.name)} — {escape(p.description)}</option>'
        for p in EDITABLE
    )
    bounces = "".join(
        f'<button name="type" value="{kind}">{"Hard" if kind == "HARDBOUNCE" else "Soft"} bounce'
        "</button> "
        for kind in BOUNCE_TYPES
    )
    state = " · blacklisted" if contact.blacklisted else ""
    state += " · anonymized" if contact.anonymized else ""
    return f"""
<section class="card" data-testid="chosen-contact">
  <h2>{escape(ref)} <small>{escape(contact.email or "no e-mail address")}{state}</small></h2>
  <div class="columns">
    <div>
      <h3>Profile</h3>
      <table>{rows or "<tr><td>No properties.</td></tr>"}</table>
      <form method="post" action="{PAGE}/edit" data-testid="edit-form">{hidden}
        <label>Field <select name="property">{options}</select></label>
        <label>New value <input name="value" placeholder="empty clears it"></label>
        <button>Edit as the recipient</button>
      </form>
    </div>
    <div>
      <h3>Permissions and interests</h3>
      <p class="muted">Switching one off is what the unsubscribe link in a mailing does.</p>
      <table>{consent}</table>
      <h3>Bounce a mail</h3>
      <form method="post" action="{PAGE}/bounce" data-testid="bounce-form">{hidden}{bounces}</form>
      <p class="muted">A hard bounce: the address does not exist; a soft one: full mailbox.</p>
    </div>
  </div>
</section>"""


def _permission_row(contact: Contact, name: str, bit: int, description: str, hidden: str) -> str:
    enabled = (contact.properties.get(name) or {}).get(bit)
    state = {True: "on", False: "off", None: "not set"}[enabled]
    action = "unsubscribe" if enabled else "subscribe"
    if name == "permissions":
        label = "Unsubscribe" if enabled else "Subscribe"
    else:
        label = "Switch off" if enabled else "Switch on"
    return (
        f"<tr><th>{escape(description)} <small>({escape(name)} bit {bit})</small></th>"
        f'<td class="state-{state.replace(" ", "-")}">{state}</td><td>'
        f'<form method="post" action="{PAGE}/{action}">{hidden}'
        f'<input type="hidden" name="property" value="{escape(name)}">'
        f'<input type="hidden" name="bit" value="{bit}">'
        f'<button aria-label="{label}: {escape(description)}">{label}</button></form></td></tr>'
    )


def _contact_table(contacts: list[Contact], *, search: str, total: int) -> str:
    rows = "".join(
        f'<tr><td><a href="{PAGE}?{urlencode({"contact": _ref(c), "q": search})}">'
        f"{escape(_ref(c))}</a></td><td>{escape(c.email or '')}</td>"
        f"<td>{escape(_permissions_in_words(c))}</td></tr>"
        for c in contacts[:SHOWN]
    )
    more = (
        f"<p class='muted'>The first {SHOWN} of {len(contacts)}; search to find others.</p>"
        if len(contacts) > SHOWN
        else ""
    )
    return f"""
<section class="card">
  <h2>Contacts in the sandbox <small>({total})</small></h2>
  <form method="get" action="{PAGE}" role="search">
    <input name="q" value="{escape(search)}" placeholder="externalId or e-mail address"
      aria-label="Search contacts"> <button>Search</button>
  </form>
  <table data-testid="contacts">
    <tr><th>externalId</th><th>E-mail address</th><th>Permissions</th></tr>
    {rows or '<tr><td colspan="3">No contact matches.</td></tr>'}
  </table>{more}
</section>"""


def _lists_form(*, lists: int, limit: int, owners: list[str]) -> str:
    held = f" (held by {escape(', '.join(owners))})" if owners else ""
    return f"""
<section class="card" data-testid="lists">
  <h2>Temporary lists <small>{lists} of {limit} in the account{held}</small></h2>
  <p class="muted">Another system sharing the Spotler account makes lists of its own: they count
  against the same budget of {limit}.</p>
  <form method="post" action="{PAGE}/lists">
    <label>Made by <input name="consumer_key" value="other-system"></label>
    <label>How many <input name="count" type="number" min="1" max="{limit}" value="1"></label>
    <button>Make another system's lists</button>
  </form>
</section>"""


def _html(content: str, status: int = 200) -> Response:
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spotler sandbox: control page</title>
<style>{STYLE}</style></head>
<body><main>
<h1>Spotler sandbox <small>play Spotler's side: recipients, bounces, other systems</small></h1>
{content}
<p class="muted">The same calls as JSON, for scripts: <a href="{control.PREFIX}?format=json">
{control.PREFIX}</a>. Changes show in spotlersync at its next pull (or start one on Syncs).</p>
</main></body></html>"""
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
         "form-action 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
    ]  # fmt: skip
    return Response(status, body.encode(), headers)


def _ref(contact: Contact) -> str:
    return contact.external_id or contact.encrypted_id


def _matches(contact: Contact, search: str) -> bool:
    if not search:
        return True
    wanted = search.lower()
    return wanted in _ref(contact).lower() or wanted in (contact.email or "").lower()


def _shown(contact: Contact, name: str) -> str:
    return str(contact.properties.get(name))


def _permissions_in_words(contact: Contact) -> str:
    bits = contact.properties.get("permissions") or {}
    names = {e.bit: e.description for p in SET_PROPERTIES if p.name == "permissions"
             for e in p.entries}  # fmt: skip
    words = [f"{names.get(bit, bit)} {'on' if on else 'off'}" for bit, on in sorted(bits.items())]
    return ", ".join(words) or "none"


def _entry_name(name: str, bit: Any) -> str:
    for prop in SET_PROPERTIES:
        for entry in prop.entries:
            if prop.name == name and entry.bit == bit:
                return f"{entry.description} ({name} bit {bit})"
    return f"{name} bit {bit}"


def _number(value: str | None) -> int | str | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else text or None


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232a}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
h1 small,h2 small{font-weight:normal;color:#5f6b7a;font-size:.7em}
.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:.5rem 1rem 1rem;
margin:1rem 0}
.columns{display:grid;grid-template-columns:1fr 1fr;gap:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #eef1f4;vertical-align:middle}
form{margin:.5rem 0}label{margin-right:.75rem}input,select{font:inherit;padding:.25rem}
button{font:inherit;padding:.3rem .8rem;border:1px solid #1f5fa8;background:#1f6fc5;
color:#fff;border-radius:4px;cursor:pointer}
td form{margin:0}.muted{color:#5f6b7a}
.done{background:#e6f4ea;border:1px solid #9fd3ad;padding:.5rem 1rem;border-radius:4px}
.error{background:#fdecea;border:1px solid #f0a8a0;padding:.5rem 1rem;border-radius:4px}
.state-on{color:#17803d;font-weight:600}.state-off{color:#b3261e;font-weight:600}
"""
