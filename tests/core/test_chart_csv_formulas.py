"""Every chart's CSV download goes through core.charts.csv_response: a cell a spreadsheet would
run as a formula (names staff or customers wrote: campaigns, teams, products, stores) is
written as text by the OWASP rule, tab and carriage return included; numbers stay numbers."""

import csv
import io

from core.charts import csv_response


def cells(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_formula_cells_are_text_and_numbers_stay_numbers():
    rows = [
        ['=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-x", "\t=cmd()", "\r=cmd()"],
        ["-5", "3.25", "'=already", "Tabriz", "", None],
    ]
    response = csv_response("report", ["a", "b", "c", "d", "e", "f"], rows)
    assert response["Content-Type"].startswith("text/csv")
    header, first, second = cells(response)
    assert first == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'@SUM(A1)",
        "'-x",
        "'\t=cmd()",
        "'\r=cmd()",
    ]
    assert second == ["-5", "3.25", "''=already", "Tabriz", "", ""]
