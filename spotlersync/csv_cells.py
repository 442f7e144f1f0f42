"""Cells of the CSV files the dashboard hands out, safe to open in a spreadsheet."""


def inert(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (the text came from outside)."""
    return f"'{cell}" if cell[:1] in {"=", "+", "-", "@", "\t", "\r"} else cell
