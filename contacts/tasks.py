"""django-q2 entry points of the contacts app: ids in, one domain call, a short summary out."""

from contacts import csv_import


def run_csv_import(import_id: int) -> str:
    return csv_import.run_import(import_id=import_id)
