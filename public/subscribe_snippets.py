"""The code an Admin copies into a shop's page to embed a subscribe form: a plain HTML form
posting to the public page, a frame showing it, and a fetch() call to the JSON endpoint."""

import json
from html import escape

from public.subscribe_fields import HONEYPOT_FIELD, AskedField


def html_snippet(*, page_url: str, title: str, fields: list[AskedField]) -> str:
    lines = [
        f'<form method="post" action="{escape(page_url)}">',
        '  <label for="subscribe-email">E-mail address</label>',
        '  <input type="email" id="subscribe-email" name="email" required autocomplete="email">',
    ]
    for field in fields:
        name = escape(field.property)
        required = " required" if field.required else ""
        lines += [
            f'  <label for="subscribe-{name}">{escape(field.label)}</label>',
            f'  <input type="{field.input_type}" id="subscribe-{name}" name="{name}"{required}>',
        ]
    lines += [
        "  <!-- Leave this hidden field in: people never see it, bots fill it in. -->",
        '  <div style="position:absolute;left:-10000px" aria-hidden="true">',
        f'    <input type="text" name="{HONEYPOT_FIELD}" tabindex="-1" autocomplete="off">',
        "  </div>",
        '  <button type="submit">Subscribe</button>',
        "</form>",
    ]
    return "\n".join(lines)


def frame_snippet(*, page_url: str, title: str) -> str:
    return (
        f'<iframe src="{escape(page_url)}" title="{escape(title)}" '
        'width="100%" height="520" style="border:0"></iframe>'
    )


def fetch_snippet(*, json_url: str, fields: list[AskedField]) -> str:
    body = {"email": "anna@example.com"} | {f.property: f"<{f.label}>" for f in fields}
    body_js = json.dumps(body, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    return "\n".join([
        f"const answer = await fetch({json.dumps(json_url)}, {{",
        '  method: "POST",',
        '  headers: {"Content-Type": "application/json"},',
        f"  body: JSON.stringify({body_js}),",
        "});",
        "const result = await answer.json();",
        '// 202 {"status": "subscribed" | "queued"}: thank the visitor either way.',
        '// 422 {"error": "invalid_fields", "detail": ..., "fields": {"email": "..."}}: show each',
        "//     message next to its field. 429: too many tries, wait Retry-After seconds.",
    ])  # fmt: skip
