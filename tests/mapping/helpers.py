"""Helpers the mapping tests share: the editor form as a browser posts it, a ledger contact."""

from contacts.ingest import upsert_contact

CITY_ROW = {"source_fields": ["city"], "property": "city", "type": "string",
            "direction": "to_spotler", "conversion": "auto", "options": {},
            "clear_when_empty": False}  # fmt: skip


def form_data(rows: list[dict], *, email_owned: bool = True, **extra) -> dict:
    """The editor form as the browser posts it."""
    data = {"row_count": str(len(rows)), **extra}
    if email_owned:
        data["email_owned"] = "1"
    for i, row in enumerate(rows):
        data[f"rows-{i}-source"] = ", ".join(row["source_fields"])
        data[f"rows-{i}-property"] = row["property"]
        data[f"rows-{i}-type"] = row["type"]
        data[f"rows-{i}-direction"] = row["direction"]
        data[f"rows-{i}-conversion"] = row["conversion"]
        if "bit" in row["options"]:
            data[f"rows-{i}-bit"] = str(row["options"]["bit"])
        if row["clear_when_empty"]:
            data[f"rows-{i}-clear"] = "1"
    return data


def add_contact(external_id="C-1", **fields):
    upsert_contact(external_id=external_id, raw_fields={"email": "anna@example.nl", **fields})
