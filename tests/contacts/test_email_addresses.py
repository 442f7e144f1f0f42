"""One e-mail rule at the door and at the push: an address the API accepts is one the mapping's
e-mail conversion sends, and the OpenAPI document states exactly that rule."""

import json
import shutil
import subprocess

import jsonschema_rs
import pytest

from contacts.models import Contact
from mapping import conversions
from spotlersync.email_addresses import EMAIL_PATTERN, LOCAL_PART_PATTERN, RULE
from tests.contacts.helpers import document, run, upload_and_map

# 64 characters before the @, 254 in all: the longest address taken.
LONGEST_LOCAL = "a" * 64
LONGEST = f"{LONGEST_LOCAL}@{'b' * 63}.{'c' * 63}.{'d' * 57}.com"
GOOD = [
    "anna@example.com",
    "A.B+tag@Sub.Example.co.uk",
    "o'neil@example.ie",
    "x_y-z@ex-ample.com",
    "!#$%&'*+/=?^_`{|}~-@example.com",
    "a@xn--bcher-kva.de",
    "a@example.xn--p1ai",
    f"{LONGEST_LOCAL}@example.com",
    LONGEST,
]
BAD = [
    # Accepted before, then refused by the push for good.
    "a@localhost",
    "a@[127.0.0.1]",
    "a@example.museum.x-y",
    # Where the old document and the server disagreed.
    " a@example.com",
    "a@example.com ",
    "a@bücher.de",
    "a@b",
    "a@1.2.3.4",
    "a@sub.example.c0m",
    "a@example.123",
    '"a b"@example.com',
    "a@[IPv6:::1]",
    # Other shapes of the same rule.
    "anna",
    "anna@",
    "@example.com",
    "a@@example.com",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example..com",
    "ü@example.com",
    "a@example.com\u00a0",
    f"a{LONGEST_LOCAL}@example.com",
    LONGEST.replace("d" * 57, "d" * 58),
]


def pushed(email: str) -> bool:
    try:
        conversions.to_email(email)
    except conversions.ConversionError:
        return False
    return True


@pytest.mark.parametrize("email", GOOD)
def test_an_address_the_api_accepts_is_one_the_push_sends(api, email):
    response = api.put("contacts/C1", {"email": email})

    assert response.status_code == 202, response.content
    assert Contact.objects.get().email == email
    assert conversions.to_email(email) == email


@pytest.mark.parametrize("email", BAD)
def test_an_address_the_push_would_refuse_is_refused_at_the_door_naming_the_field(api, email):
    response = api.put("contacts/C1", {"email": email})

    assert response.status_code == 422, response.content
    assert set(response.json()["fields"]) == {"email"}
    assert not Contact.objects.exists()
    # The push refuses it too (spaces around an address are trimmed there, as for every value).
    assert pushed(email.strip()) is (email != email.strip())


@pytest.mark.parametrize(
    ("email", "words"),
    [
        ("a@localhost", f"“a@localhost” is not an e-mail address. {RULE}"),
        ("a@bücher.de", "“a@bücher.de”: write the domain in its ASCII form, a@xn--bcher-kva.de."),
        (" a@example.com", "“ a@example.com” has spaces around it; send the address without them."),
        (f"a{LONGEST_LOCAL}@example.com", "has 65 characters before the @; an e-mail address has"),
    ],
)
def test_a_refused_address_is_answered_with_what_to_fix(api, email, words):
    response = api.put("contacts/C1", {"email": email})

    assert words in response.json()["fields"]["email"]


def test_a_batch_rejects_an_address_the_push_would_refuse(api):
    items = [
        {"external_id": "C1", "email": "a@localhost"},
        {"external_id": "C2", "email": "anna@example.com"},
    ]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]
    assert set(body["results"][0]["error"]["fields"]) == {"email"}


def test_the_csv_import_refuses_an_address_the_push_would_refuse(client_as):
    content = "id,email\nC1,a@localhost\nC2,anna@example.com\n"

    job = run(upload_and_map(client_as("admin"), content))

    assert [(e.row, e.column) for e in job.row_errors.all()] == [(2, "email")]
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C2"]


def test_the_document_calls_valid_exactly_the_addresses_the_server_accepts(client_as):
    fields = document(client_as)["components"]["schemas"]["ContactFields"]
    validator = jsonschema_rs.validator_for(fields, validate_formats=True)

    assert [email for email in GOOD if not validator.is_valid({"email": email})] == []
    assert [email for email in BAD if validator.is_valid({"email": email})] == []


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_documented_patterns_are_ecma_262_and_match_as_the_server_does():
    # JavaScript's own regular expressions, in unicode mode, as OpenAPI tools read the pattern.
    script = (
        "const {patterns, samples} = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const res = patterns.map((p) => new RegExp(p, 'u'));"
        "console.log(JSON.stringify(samples.filter((s) => res.every((re) => re.test(s)))));"
    )
    samples = [*GOOD, *BAD, "anna@example.com\n", "\nanna@example.com"]
    # The length limit is the schema's maxLength, not the pattern's.
    expected = [*GOOD, LONGEST.replace("d" * 57, "d" * 58)]

    answer = subprocess.run(
        ["node", "-e", script],
        input=json.dumps({"patterns": [EMAIL_PATTERN, LOCAL_PART_PATTERN], "samples": samples}),
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(answer.stdout) == expected
