"""Spreadsheet-safe exports: what staff download as CSV or XLSX opens as data, never as a
formula (OWASP's CSV injection rule), and what they upload back reads as it was exported.

A product name such as `=HYPERLINK("http://evil", "Click")` written by a partner would run
in the spreadsheet of the merchandiser who opens the catalog export. Every CSV or XLSX writer
in the project passes its cells through `spreadsheet_cell` / `spreadsheet_row`; readers of
uploads pass theirs through `from_spreadsheet_cell`, so an export imports back unchanged.
"""

import csv
from collections.abc import Iterable, Iterator

from openpyxl.cell import WriteOnlyCell

# A cell that starts with one of these is taken for a formula (or DDE) by Excel, LibreOffice
# and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def spreadsheet_cell(value):
    """The cell as text that no spreadsheet evaluates: a leading quote before a trigger.
    Numbers (int, float, Decimal) stay numbers: a negative amount is not a formula."""
    # Quotes already in front are counted, so `'=x` exports as `''=x` and imports back exactly.
    if isinstance(value, str) and value.lstrip(TEXT_MARK).startswith(FORMULA_TRIGGERS):
        return TEXT_MARK + value
    return value


def spreadsheet_row(values: Iterable) -> list:
    return [spreadsheet_cell(value) for value in values]


def from_spreadsheet_cell(value: str) -> str:
    """Undo `spreadsheet_cell` on an uploaded cell: `'=x` reads back as `=x`."""
    if value.startswith(TEXT_MARK) and value.lstrip(TEXT_MARK).startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def csv_lines(rows: Iterable[Iterable], **writer_options) -> Iterator[str]:
    """Each row as one CSV line, every cell made spreadsheet-safe."""
    writer = csv.writer(_Echo(), **writer_options)
    for row in rows:
        yield writer.writerow(spreadsheet_row(row))


def write_xlsx_rows(sheet, rows: Iterable[Iterable]) -> None:
    """Append rows to an openpyxl write-only sheet with every string cell typed as text, so
    openpyxl does not store `=...` as a formula (it does for any string starting with `=`)."""
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
