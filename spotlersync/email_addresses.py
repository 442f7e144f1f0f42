"""The one rule for an e-mail address: what the ingest API accepts is what the push can send.

The ingest check (PUT, batch, CSV import) and the mapping's e-mail conversion both ask
`email_address_problem`; the OpenAPI document states the same rule as `EMAIL_PATTERN` and
`LOCAL_PART_PATTERN` (plain ECMA-262, valid in JavaScript's unicode mode) with `MAX_LENGTH`. An
address is the plain form every mail system takes:

- a local part of 1 to 64 ASCII letters, digits and ! # $ % & ' * + / = ? ^ _ ` { | } ~ -, with
  single dots between them (no quoted local parts such as "a b"@example.com);
- a domain of at least two labels of ASCII letters, digits and hyphens (1 to 63 each, no hyphen
  first or last), ending in a top-level domain of letters or an `xn--` label; an
  internationalised domain is written in its `xn--` form, and there are no IP literals or
  single-label hosts (a@localhost), which Spotler has nowhere to deliver to;
- at most 254 characters in all, with nothing around it (no spaces: refused, not trimmed).
"""

import re

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{0,57}[A-Za-z0-9])"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TOP_LABEL}$"
# The local part's limit, a second pattern: a lookahead in the first would stop test-data
# generators (hypothesis) from producing an address at all.
LOCAL_PART_PATTERN = rf"^[^@]{{1,{MAX_LOCAL_LENGTH}}}@"
# Match with `fullmatch`: Python's `$` also matches before a final newline.
EMAIL_ADDRESS = re.compile(EMAIL_PATTERN)
LOCAL_PART = re.compile(LOCAL_PART_PATTERN)
RULE = (
    "Send a plain address such as anna@example.com: up to 64 letters, digits and symbols such "
    "as . _ + - before the @, then a domain with a dot in it, no spaces or quotes."
)


def email_address_problem(text: str) -> str | None:
    """Why `text` is not an address Spotler takes, in words that say what to fix; None if it is."""
    if len(text) > MAX_LENGTH:
        return f"This is {len(text)} characters long; an e-mail address has at most {MAX_LENGTH}."
    if EMAIL_ADDRESS.fullmatch(text) and LOCAL_PART.match(text):
        return None
    quoted = f"“{text[:100]}”"
    if text != text.strip():
        return f"{quoted} has spaces around it; send the address without them."
    local, _, domain = text.rpartition("@")
    if len(local) > MAX_LOCAL_LENGTH and EMAIL_ADDRESS.fullmatch(f"a@{domain}"):
        return (
            f"{quoted} has {len(local)} characters before the @; an e-mail address has at most "
            f"{MAX_LOCAL_LENGTH}."
        )
    ascii_domain = idna_form(domain)
    if ascii_domain and not email_address_problem(f"{local}@{ascii_domain}"):
        return f"{quoted}: write the domain in its ASCII form, {local}@{ascii_domain}."
    return f"{quoted} is not an e-mail address. {RULE}"


def idna_form(domain: str) -> str | None:
    """`bücher.de` -> `xn--bcher-kva.de`, only to suggest it; None when it has no such form."""
    if domain.isascii():
        return None
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
