"""The mapping a new installation starts with (version 1), before any marketer edits it."""

from mapping.render import Conversion, Direction

# Source fields are what the linked system sends (see the README's ingest API), plus the
# ledger's own purchase dates: `first_purchase_at` is set once, at the first order;
# `last_purchase_at` moves with every later order (Spotler's integration guide).
DEFAULT_ROWS = [
    {"source_fields": ["email"], "property": "email", "type": "email",
     "direction": Direction.BOTH},
    {"source_fields": ["first_name"], "property": "firstName", "type": "string",
     "direction": Direction.BOTH},
    {"source_fields": ["last_name"], "property": "lastName", "type": "string",
     "direction": Direction.BOTH},
    {"source_fields": ["newsletter"], "property": "permissions", "type": "set",
     "direction": Direction.BOTH, "conversion": Conversion.PERMISSION, "options": {"bit": 1}},
    {"source_fields": ["first_purchase_at"], "property": "firstPurchaseDate",
     "type": "dateTime"},
    {"source_fields": ["last_purchase_at"], "property": "lastPurchaseDate", "type": "dateTime"},
]  # fmt: skip
