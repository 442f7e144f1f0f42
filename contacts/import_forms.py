"""Forms of the CSV import: the upload, and the mapping of its columns to source fields."""

from django import forms

from contacts.csv_import import (
    EMAIL,
    EMAIL_GUESSES,
    EXTERNAL_ID,
    EXTERNAL_ID_GUESSES,
    MAX_FILE_BYTES,
    CsvFileError,
    CsvHeader,
    field_name_for,
    guess_column,
    read_header,
)
from contacts.models import CsvImport
from contacts.source_fields import FIELD_NAME, MAX_FIELDS


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8 (with or without a BOM), cells separated by commas or semicolons, a "
        f"header row naming the columns; at most {MAX_FILE_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"This file is {upload.size / (1024 * 1024):.1f} MB; at most "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB can be imported at once. Split it into "
                "several files with the header row in each."
            )
        content = upload.read()
        try:
            self.header: CsvHeader = read_header(content)
        except CsvFileError as error:
            raise forms.ValidationError(str(error)) from None
        self.content = content
        return upload


class ColumnMappingForm(forms.Form):
    """Which column holds the external id, which the e-mail address, and what the others fill."""

    external_id_column = forms.TypedChoiceField(label="External id column", coerce=int)
    email_column = forms.TypedChoiceField(label="E-mail column", coerce=int)

    def __init__(self, *args, csv_import: CsvImport, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.headers: list[str] = csv_import.headers
        self.preview: list[list[str]] = csv_import.preview
        choices = [(index, header or f"column {index + 1}") for index, header in self.column_list]
        for name, guesses in [
            ("external_id_column", EXTERNAL_ID_GUESSES),
            ("email_column", EMAIL_GUESSES),
        ]:
            self.fields[name].choices = [("", "Choose a column"), *choices]
            self.fields[name].initial = guess_column(self.headers, guesses)
        for index, header in self.column_list:
            slug = field_name_for(header)
            self.fields[f"field_{index}"] = forms.CharField(
                label=f"Source field for “{header}”",
                required=False,
                max_length=64,
                initial=slug,
            )
            self.fields[f"skip_{index}"] = forms.BooleanField(
                label="Skip", required=False, initial=not slug
            )

    @property
    def column_list(self) -> list[tuple[int, str]]:
        return list(enumerate(self.headers))

    def rows(self) -> list[dict]:
        """Per column, what the template shows: header, first values, its two fields."""
        return [
            {
                "header": header,
                "samples": [row[index] for row in self.preview if index < len(row) and row[index]],
                "name": self[f"field_{index}"],
                "skip": self[f"skip_{index}"],
            }
            for index, header in self.column_list
        ]

    def clean(self) -> dict:
        data = super().clean()
        id_column, email_column = data.get("external_id_column"), data.get("email_column")
        if id_column is None or email_column is None:
            return data
        if id_column == email_column:
            raise forms.ValidationError("The external id and the e-mail must be different columns.")
        columns = []
        seen: dict[str, str] = {}
        for index, header in self.column_list:
            name = self.column_target(index, id_column=id_column, email_column=email_column)
            if name in seen:
                self.add_error(
                    f"field_{index}", f"“{seen[name]}” already fills “{name}”; choose another name."
                )
            elif name:
                seen[name] = header
            columns.append(name)
        if len(seen) - 1 > MAX_FIELDS:
            raise forms.ValidationError(f"Map at most {MAX_FIELDS} columns to source fields.")
        data["columns"] = columns
        return data

    def column_target(self, index: int, *, id_column: int, email_column: int) -> str:
        if index == id_column:
            return EXTERNAL_ID
        if index == email_column:
            return EMAIL
        if self.cleaned_data.get(f"skip_{index}"):
            return ""
        name = (self.cleaned_data.get(f"field_{index}") or "").strip()
        if not name:
            self.add_error(f"field_{index}", "Name a source field, or tick “Skip”.")
        elif not FIELD_NAME.fullmatch(name):
            self.add_error(
                f"field_{index}",
                "Use letters, digits and underscores, starting with a letter (e.g. first_name).",
            )
        elif name in {EXTERNAL_ID, EMAIL}:
            self.add_error(
                f"field_{index}", f"“{name}” comes from the column chosen above; choose another."
            )
        return name
