"""A handful of realistic contacts for an empty demo sandbox (`spotler_sandbox --seed-demo`)."""

from spotler.sandbox.catalogue import clean_properties
from spotler.sandbox.contacts import Write
from spotler.sandbox.state import Account

ON, OFF = True, False

DEMO_CONTACTS: tuple[tuple[str, dict], ...] = (
    (
        "C-1001",
        {
            "email": "anna.devries@example.nl",
            "firstName": "Anna",
            "infix": "de",
            "lastName": "Vries",
            "gender": "F",
            "birthday": "1988-04-12",
            "city": "Utrecht",
            "country": "NL",
            "postalCode": "3511 AB",
            "taal": "nl",
            "customerType": "retail",
            "firstPurchaseDate": "2023-02-03T10:15:00+01:00",
            "lastPurchaseDate": "2025-10-28T19:42:00+01:00",
            "totalSpent": 412.85,
            "loyaltyPoints": 410,
            "permissions": [{"bit": 1, "enabled": ON}, {"bit": 2, "enabled": ON}],
        },
    ),
    (
        "C-1002",
        {
            "email": "pieter.jansen@example.com",
            "firstName": "Pieter",
            "lastName": "Jansen",
            "gender": "M",
            "city": "Rotterdam",
            "country": "NL",
            "postalCode": "3012 CN",
            "phoneNumber": "+31612345678",
            "taal": "nl",
            "customerType": "business",
            "firstPurchaseDate": "2024-06-17T09:01:00+02:00",
            "lastPurchaseDate": "2024-06-17T09:01:00+02:00",
            "totalSpent": 89.0,
            "loyaltyPoints": 90,
            "permissions": [{"bit": 1, "enabled": ON}, {"bit": 3, "enabled": ON}],
        },
    ),
    (
        "C-1003",
        {
            "email": "sophie.bakker@example.org",
            "firstName": "Sophie",
            "lastName": "Bakker",
            "gender": "F",
            "city": "Groningen",
            "country": "NL",
            "postalCode": "9711 LM",
            "taal": "en",
            "customerType": "retail",
            "discountCode": "WELKOM-7Q2F",
            "permissions": [{"bit": 1, "enabled": OFF}],
            "profileFields": [{"bit": 1, "enabled": ON}],
        },
    ),
    (
        "C-1004",
        {
            "email": "lars.visser@example.nl",
            "firstName": "Lars",
            "lastName": "Visser",
            "gender": "M",
            "birthday": "1979-11-30",
            "city": "Eindhoven",
            "country": "NL",
            "postalCode": "5611 EM",
            "taal": "nl",
            "customerType": "retail",
            "firstPurchaseDate": "2021-12-01T14:30:00+01:00",
            "lastPurchaseDate": "2025-11-02T11:05:00+01:00",
            "totalSpent": 1893.4,
            "loyaltyPoints": 1890,
            "permissions": [
                {"bit": 1, "enabled": ON},
                {"bit": 2, "enabled": ON},
                {"bit": 3, "enabled": ON},
            ],
            "profileFields": [{"bit": 3, "enabled": ON}],
        },
    ),
    (
        "C-1005",
        {
            "email": "emma.smit@example.com",
            "firstName": "Emma",
            "lastName": "Smit",
            "city": "Antwerpen",
            "country": "BE",
            "taal": "nl-BE",
            "customerType": "retail",
            "permissions": [{"bit": 2, "enabled": ON}],
        },
    ),
    (
        "C-1006",
        {
            "email": "daan.mulder@example.nl",
            "firstName": "Daan",
            "lastName": "Mulder",
            "gender": "M",
            "city": "Amsterdam",
            "country": "NL",
            "postalCode": "1012 JS",
            "phoneNumber": "+31687654321",
            "taal": "nl",
            "customerType": "business",
            "lastPurchaseDate": "2025-09-14T16:20:00+02:00",
            "totalSpent": 254.1,
            "loyaltyPoints": 250,
            "permissions": [{"bit": 1, "enabled": ON}],
        },
    ),
)


def seed_demo(account: Account) -> int:
    """Put the demo contacts in an empty account; returns how many (0 when not empty)."""
    writes = [(external_id, Write(clean_properties(props))) for external_id, props in DEMO_CONTACTS]
    with account.changing():
        if len(account.contacts):
            return 0
        for external_id, write in writes:
            account.contacts.insert_as_import(external_id, write)
    return len(writes)
